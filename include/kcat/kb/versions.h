#pragma once
// The version matrix (patches/versions/*.toml): torch_npu <-> torch <-> CANN, torch <-> Python,
// vllm-ascend <-> vllm <-> Python <-> CANN <-> torch / torch_npu. Rows exactly as their sources
// state them, each with its source.
#include <filesystem>
#include <string>
#include <vector>

namespace kcat::kb {

struct TorchNpuRow {
  std::string torch_npu, branch, torch, cann, source;
};
struct TorchPythonRow {
  std::string torch;
  std::vector<std::string> python;  // "3.9", "3.10", ...
  std::string source;
};
struct VllmAscendRow {
  std::string vllm_ascend, vllm, python, cann, torch, torch_npu, source;
};

// The Ascend HDK (driver) a CANN release needs, where a source states it (patches/versions/hdk.toml).
struct HdkRow {
  std::string cann, min_driver, source;
};

// Requirements of one release, e.g. vllm-ascend 0.8.5rc1 needs numpy<2.0.0.
struct RequirementNote {
  std::string package;  // "vllm-ascend" or "vllm"
  std::string version;
  std::vector<std::string> needs;  // e.g. "numpy<2.0.0"
  std::string source;
};

// torch minor release -> the torchvision / torchaudio releases built for it (patches/versions/families.toml).
struct TorchFamilyRow {
  std::string torch;                    // "2.5"
  std::string torchvision, torchaudio;  // PEP 440 specifiers, e.g. "==0.20.*"
  std::string source;
};
// transformers releases -> the tokenizers range they require.
struct TokenizersRow {
  std::string transformers, tokenizers;  // PEP 440 specifiers
  std::string source;
};
// A package that needs CUDA (a glob over canonical names) and what takes its place on Ascend.
struct CudaOnly {
  std::string name, replacement, source;
};

struct VersionMatrix {
  std::filesystem::path dir;  // the data directory it was loaded from
  std::string default_cann;   // patches/versions/default.toml: the plan's default stack
  std::vector<TorchFamilyRow> torch_family;
  std::vector<TokenizersRow> tokenizers;
  std::vector<CudaOnly> cuda_only;
  std::vector<TorchNpuRow> torch_npu;         // Ascend/pytorch's compatibility table, as it is
  std::vector<TorchNpuRow> torch_npu_pinned;  // stacks only vllm-ascend's releases pin (2.10.0.post2)
  std::vector<TorchPythonRow> torch_python;
  std::vector<VllmAscendRow> vllm_ascend;
  std::vector<RequirementNote> notes;
  std::vector<HdkRow> hdk;

  static VersionMatrix load(const std::filesystem::path& data_dir);
  // The first (newest) row for a torch_npu version; a version's local part (+cpu) is ignored.
  const TorchNpuRow* for_torch_npu(std::string_view version) const;
  // Rows whose CANN the installed one fits (same release, or a newer patch of it), newest first.
  std::vector<const TorchNpuRow*> for_cann(std::string_view cann) const;
  // for_cann, else the rows of the same release line (8.5.1 -> 8.5.0's rows: a patch release
  // serves the same torch_npu builds).
  std::vector<const TorchNpuRow*> for_cann_line(std::string_view cann) const;
  // vllm-ascend rows whose CANN the installed one fits (same release first, then a newer patch of
  // it: 8.3.1 runs a release tested on 8.3.0), newest first within each.
  std::vector<const VllmAscendRow*> vllm_for_cann(std::string_view cann) const;
  const TorchFamilyRow* family_for_torch(std::string_view torch) const;
  const TorchPythonRow* python_for_torch(std::string_view torch) const;
  const VllmAscendRow* for_vllm_ascend(std::string_view version) const;
  // Problems found in the data itself: missing sources, one version mapped two ways.
  std::vector<std::string> contradictions() const;
};

// Compares release versions segment by segment ("2.10.0" > "2.9.0"; "0.8.5.post1" > "0.8.5";
// "0.9.0rc1" < "0.9.0"); a local part (+cu118) is ignored. Returns <0, 0, >0.
int compare_versions(std::string_view a, std::string_view b);
// "transformers>=4.51.1" is satisfied by "4.46.3"? Operators: == != >= <= > < (one clause).
bool satisfies(std::string_view version, std::string_view op, std::string_view bound);

// Does an installed CANN fit a row's CANN? A patch release is the same release line: 8.5.1 fits a
// row saying 8.5.0 (CannFit::patch); 8.5.0 for a row saying 8.5.1 is an older patch (older_patch);
// RC and beta releases must match exactly. Build suffixes (8.1.RC1.alpha001) are ignored.
enum class CannFit { same, patch, older_patch, mismatch };
CannFit cann_fit(std::string_view installed, std::string_view row);

// "2.5.1+cpu" -> "2.5.1"; "8.1.RC1.alpha001" -> "8.1.RC1" (a CANN build suffix is not its release).
std::string release_of(std::string_view version);

}  // namespace kcat::kb
