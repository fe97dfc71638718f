#pragma once
// Advice per CUDA-only package (patches/advice/*.toml): what a finding of py.cuda-only-import /
// py.cuda-only-use becomes in the plan, package by package, instead of one recipe for all of them.
#include <filesystem>
#include <string>
#include <vector>

namespace kcat::kb {

struct PackageAdvice {
  std::string package;  // top-level import name: "bitsandbytes"
  std::string advice;   // what to do where the import is not guarded
  std::string guarded;  // what a guarded import (try/except ImportError) needs; "" = same as advice
  bool guarded_no_change = false;  // a guarded import needs no change: a note, not work
  std::string recipe;              // a port recipe that handles it ("" = none)
  std::string source;              // citation (required)
};

struct AdviceSet {
  std::vector<PackageAdvice> packages;
  const PackageAdvice* find(std::string_view package) const;
};

// Every *.toml under dir ([[package]] tables), sorted by name; a missing dir gives an empty set.
// Throws Error(Usage) naming file:line for a package without name, advice or source.
AdviceSet load_advice(const std::filesystem::path& dir);

// patches/advice of the shipped knowledge base (default_data_dir), read once.
const AdviceSet& shipped_advice();

// The top-level package a CUDA-only finding names (`matched`: "bitsandbytes.optim.Adam8bit"), with
// flash_attn's compiled modules (flash_attn_interface, flash_attn_2_cuda) as flash_attn.
std::string cuda_only_package(std::string_view matched);

}  // namespace kcat::kb
