#include "kcat/llm/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cmath>
#include <cstdlib>
#include <optional>

#include "kcat/core/error.h"
#include "kcat/core/secrets.h"

namespace kcat::llm {

namespace fs = std::filesystem;

namespace {

constexpr const char* kKeys =
    "base_url, model, api_key_env, temperature, max_tokens, price_prompt_per_mtok, "
    "price_completion_per_mtok, connect_timeout, read_timeout, max_retries, stream, context_tokens, "
    "step_tokens";

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string trim_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::string where(const fs::path& file, const toml::node& n) {
  return fmt::format("{}:{}", file.string(), n.source().begin.line);
}

[[noreturn]] void bad_type(const fs::path& file, const std::string& key, const toml::node& n,
                           const char* want) {
  throw Error(ErrorKind::Usage, fmt::format("llm.{} must be {}", key, want), where(file, n),
              "see docs/llm.md for the [llm] keys");
}

void apply_toml(LlmConfig& c, const fs::path& file) {
  toml::table doc;
  try {
    doc = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    throw Error(ErrorKind::Usage, "invalid TOML: " + std::string(e.description()),
                fmt::format("{}:{}:{}", file.string(), e.source().begin.line, e.source().begin.column),
                "fix the syntax of kcat.toml; see docs/llm.md");
  }
  c.file = file;
  toml::node* section = doc.get("llm");
  if (!section) return;
  toml::table* llm = section->as_table();
  if (!llm) bad_type(file, "", *section, "a table ([llm])");
  for (auto& [k, v] : *llm) {
    std::string key(k.str());
    auto str = [&, &key = key, &v = v]() {
      auto s = v.value<std::string>();
      if (!s || !v.is_string()) bad_type(file, key, v, "a string");
      return *s;
    };
    auto num = [&, &key = key, &v = v]() {
      if (!v.is_number()) bad_type(file, key, v, "a number");
      double x = v.value<double>().value_or(0.0);
      if (!std::isfinite(x)) bad_type(file, key, v, "a finite number (not inf or nan)");
      return x;
    };
    auto integer = [&, &key = key, &v = v]() {
      if (!v.is_integer()) bad_type(file, key, v, "an integer");
      return v.value<int64_t>().value_or(0);
    };
    auto range = [&, &key = key, &v = v](bool ok, const char* what) {
      if (!ok) {
        throw Error(ErrorKind::Usage, fmt::format("llm.{} must be {}", key, what), where(file, v),
                    "see docs/llm.md for the [llm] keys");
      }
    };
    if (key == "base_url") {
      c.base_url = trim_slash(str());
    } else if (key == "model") {
      c.model = str();
    } else if (key == "api_key_env") {
      c.api_key_env = str();
    } else if (key == "temperature") {
      c.temperature = num();
      range(c.temperature >= 0.0 && c.temperature <= 2.0, "between 0 and 2");
    } else if (key == "max_tokens") {
      auto n = integer();
      range(n >= 0 && n <= 10'000'000, "0 (server default) or a positive integer");
      c.max_tokens = static_cast<int>(n);
    } else if (key == "price_prompt_per_mtok") {
      c.price_prompt_per_mtok = num();
      range(c.price_prompt_per_mtok >= 0.0, "a price >= 0");
    } else if (key == "price_completion_per_mtok") {
      c.price_completion_per_mtok = num();
      range(c.price_completion_per_mtok >= 0.0, "a price >= 0");
    } else if (key == "connect_timeout" || key == "read_timeout") {
      double s = num();
      range(s > 0.0 && s <= 86'400.0, "a number of seconds > 0");
      std::chrono::milliseconds ms(static_cast<long long>(s * 1000.0 + 0.5));
      (key == "connect_timeout" ? c.connect_timeout : c.read_timeout) =
          std::max(ms, std::chrono::milliseconds(1));
    } else if (key == "max_retries") {
      auto n = integer();
      range(n >= 0 && n <= 20, "between 0 and 20");
      c.max_retries = static_cast<int>(n);
    } else if (key == "context_tokens") {
      auto n = integer();
      range(n >= 1024 && n <= 10'000'000, "a number of tokens between 1024 and 10000000");
      c.context_tokens = static_cast<long>(n);
    } else if (key == "step_tokens") {
      auto n = integer();
      range(n >= 0 && n <= 1'000'000'000, "0 (no cap) or a positive number of tokens");
      c.step_tokens = static_cast<long>(n);
    } else if (key == "stream") {
      if (!v.is_boolean()) bad_type(file, key, v, "true or false");
      c.stream = v.value<bool>().value_or(true);
    } else if (key == "api_key") {
      // The value is deliberately not echoed.
      throw Error(ErrorKind::Usage,
                  "llm.api_key does not belong in kcat.toml (it would be committed or shared)",
                  where(file, v),
                  "remove it; put the key in an environment variable (KCAT_LLM_API_KEY, or name your own "
                  "with api_key_env = \"MY_KEY_VAR\")");
    } else {
      throw Error(ErrorKind::Usage, "unknown key 'llm." + key + "'", where(file, v),
                  std::string("the [llm] keys are ") + kKeys);
    }
  }
}

}  // namespace

LlmConfig load_llm_config(const std::vector<fs::path>& files) {
  LlmConfig c;
  for (auto& file : files) apply_toml(c, file);

  if (auto v = env("KCAT_LLM_BASE_URL"); !v.empty()) {
    c.base_url = trim_slash(v);
  } else if (c.base_url.empty()) {
    c.base_url = trim_slash(env("OPENAI_BASE_URL"));
  }
  if (auto v = env("KCAT_LLM_MODEL"); !v.empty()) c.model = v;

  if (auto v = env("KCAT_LLM_API_KEY"); !v.empty()) {
    c.api_key = v;
  } else if (!c.api_key_env.empty() && !env(c.api_key_env.c_str()).empty()) {
    c.api_key = env(c.api_key_env.c_str());
  } else {
    c.api_key = env("OPENAI_API_KEY");
  }
  // The key and the variable it may sit in are kept from child processes and the ledger.
  secrets::add(c.api_key_env, c.api_key);
  return c;
}

void validate_llm_config(const fs::path& file) {
  LlmConfig scratch;
  apply_toml(scratch, file);
}

std::string describe_key_source(const LlmConfig& c) {
  if (c.api_key.empty()) return "none";
  if (!env("KCAT_LLM_API_KEY").empty()) return "KCAT_LLM_API_KEY";
  if (!c.api_key_env.empty() && !env(c.api_key_env.c_str()).empty()) return "$" + c.api_key_env;
  if (!env("OPENAI_API_KEY").empty()) return "OPENAI_API_KEY";
  return "set by the caller";
}

}  // namespace kcat::llm
