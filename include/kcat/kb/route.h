#pragma once
// Route: one way to run a known model family on the NPU (its software stack, install commands,
// environment, how to run it, and what it changes), from patches/routes/*.toml. When several
// routes fit a repository, the plan explains each and defaults to the one with the higher
// expected throughput.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kcat::kb {

// What a route makes unused: the folder of a file that defines `defines` (a model class), when a
// file in that folder registers it out of tree (`registers`), is replaced by the route's own code.
// Never the repository's root: a model defined there is not a folder of its own.
struct RouteReplaces {
  std::string defines;    // "class DeepseekOCR2ForCausalLM("
  std::string registers;  // "ModelRegistry.register_model(\"DeepseekOCR2ForCausalLM\""
  std::string why;        // one sentence: what replaces the folder on this route
};

struct Route {
  std::string id;
  std::string model;  // "DeepSeek-OCR-2"
  std::string title;
  std::vector<std::string> detect;            // the route fits when some file contains one of these texts
  std::string summary;                        // what the route is, in a few lines
  std::optional<double> expected_throughput;  // a published tok/s per card, as its source states it
  std::string expected_note;                  // what the figure measures and where it is published
  std::map<std::string, std::string>
      stack;  // vllm, vllm_ascend, cann, torch, torch_npu, python, transformers, engine
  std::vector<std::string> install;  // commands for an Atlas host, in order
  std::map<std::string, std::string> env;
  std::string run;                   // how to run or serve the model
  std::vector<std::string> recipes;  // recipes this route applies
  std::vector<std::string> caveats;  // what stays a risk on this route
  std::vector<std::string> sources;
  std::optional<RouteReplaces> replaces;  // the repository's code this route does not run
  std::string origin;                     // file:line
};

// Every *.toml under dir ([[route]] tables); a missing dir gives none. Throws Error(Usage) naming
// file:line for a route without id, title, detect or sources.
std::vector<Route> load_routes(const std::filesystem::path& dir);

}  // namespace kcat::kb
