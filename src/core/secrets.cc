#include "kcat/core/secrets.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>

namespace kcat::secrets {
namespace {

// Variables that hold an LLM key whatever the configuration says: kcat's own and the OpenAI
// convention it falls back to (docs/llm.md), and the common providers' own names.
constexpr const char* kWellKnown[] = {"KCAT_LLM_API_KEY", "OPENAI_API_KEY", "DEEPSEEK_API_KEY",
                                      "DASHSCOPE_API_KEY", "ANTHROPIC_API_KEY"};
constexpr size_t kMinSecret = 4;  // shorter values would redact ordinary text

struct Registry {
  std::mutex mu;
  std::vector<std::string> names;
  std::vector<std::string> values;
};

Registry& registry() {
  static Registry r;
  return r;
}

void add_unique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

}  // namespace

void add(const std::string& env_name, const std::string& value) {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  if (!env_name.empty()) add_unique(r.names, env_name);
  if (value.size() >= kMinSecret) add_unique(r.values, value);
}

std::vector<std::string> env_names() {
  std::vector<std::string> out(std::begin(kWellKnown), std::end(kWellKnown));
  auto& r = registry();
  std::lock_guard lock(r.mu);
  for (auto& n : r.names) add_unique(out, n);
  return out;
}

std::vector<std::string> values() {
  std::vector<std::string> out;
  for (auto& name : env_names()) {
    const char* v = std::getenv(name.c_str());
    if (v && std::char_traits<char>::length(v) >= kMinSecret) add_unique(out, v);
  }
  auto& r = registry();
  std::lock_guard lock(r.mu);
  for (auto& v : r.values) add_unique(out, v);
  // Longest first: a secret that contains another is replaced whole.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return out;
}

std::string redact(std::string s) {
  for (auto& secret : values()) {
    for (size_t p = s.find(secret); p != std::string::npos; p = s.find(secret, p)) {
      s.replace(p, secret.size(), "[REDACTED]");
      p += 10;
    }
  }
  return s;
}

}  // namespace kcat::secrets
