#include "kcat/llm/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <string>

#include "kcat/core/error.h"
#include "testsupport/support.h"

namespace kcat::llm {
namespace {

// Sets (or clears, with nullopt) environment variables for one test and restores them after.
class EnvGuard {
 public:
  explicit EnvGuard(std::map<std::string, std::optional<std::string>> vars) {
    for (auto& [k, v] : vars) {
      const char* old = std::getenv(k.c_str());
      saved_[k] = old ? std::optional<std::string>(old) : std::nullopt;
      if (v) {
        setenv(k.c_str(), v->c_str(), 1);
      } else {
        unsetenv(k.c_str());
      }
    }
  }
  ~EnvGuard() {
    for (auto& [k, v] : saved_) {
      if (v) {
        setenv(k.c_str(), v->c_str(), 1);
      } else {
        unsetenv(k.c_str());
      }
    }
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

// Every variable the loader reads, cleared.
std::map<std::string, std::optional<std::string>> clean_env() {
  return {{"KCAT_LLM_BASE_URL", std::nullopt}, {"KCAT_LLM_MODEL", std::nullopt},
          {"KCAT_LLM_API_KEY", std::nullopt},  {"OPENAI_BASE_URL", std::nullopt},
          {"OPENAI_API_KEY", std::nullopt},    {"MY_LLM_KEY", std::nullopt}};
}

const char* kToml = R"([llm]
base_url = "https://api.deepseek.com/v1/"
model = "deepseek-chat"
api_key_env = "MY_LLM_KEY"
temperature = 0.3
max_tokens = 4096
price_prompt_per_mtok = 0.27
price_completion_per_mtok = 1.1
connect_timeout = 5
read_timeout = 90.5
max_retries = 3
stream = false
)";

TEST(LlmConfig, DefaultsWhenNothingIsSet) {
  EnvGuard env(clean_env());
  test::TempDir dir;
  auto c = load_llm_config({});
  EXPECT_FALSE(c.configured());
  EXPECT_EQ(c.max_retries, 4);
  EXPECT_TRUE(c.stream);
  EXPECT_TRUE(c.file.empty());
}

TEST(LlmConfig, ReadsTheFile) {
  EnvGuard env(clean_env());
  test::TempDir dir;
  test::write(dir / "kcat.toml", kToml);
  auto c = load_llm_config({dir / "kcat.toml"});
  EXPECT_TRUE(c.configured());
  EXPECT_EQ(c.base_url, "https://api.deepseek.com/v1");
  EXPECT_EQ(c.model, "deepseek-chat");
  EXPECT_EQ(c.api_key_env, "MY_LLM_KEY");
  EXPECT_DOUBLE_EQ(c.temperature, 0.3);
  EXPECT_EQ(c.max_tokens, 4096);
  EXPECT_DOUBLE_EQ(c.price_prompt_per_mtok, 0.27);
  EXPECT_DOUBLE_EQ(c.price_completion_per_mtok, 1.1);
  EXPECT_EQ(c.connect_timeout.count(), 5000);
  EXPECT_EQ(c.read_timeout.count(), 90500);
  EXPECT_EQ(c.max_retries, 3);
  EXPECT_FALSE(c.stream);
  EXPECT_EQ(c.file, dir / "kcat.toml");
  EXPECT_EQ(c.api_key, "");
}

// The caller (kcat/cli/config.h) passes only trusted files, the user's first: a later file's keys
// override an earlier one's, the others stay.
TEST(LlmConfig, LaterFileOverridesEarlier) {
  EnvGuard env(clean_env());
  test::TempDir dir;
  test::write(dir / "user.toml", "[llm]\nmodel = \"user-model\"\nbase_url = \"http://user/v1\"\n");
  test::write(dir / "ci.toml", "[llm]\nmodel = \"ci-model\"\n");
  auto c = load_llm_config({dir / "user.toml", dir / "ci.toml"});
  EXPECT_EQ(c.model, "ci-model");
  EXPECT_EQ(c.base_url, "http://user/v1");
  EXPECT_EQ(c.file, dir / "ci.toml");
}

TEST(LlmConfig, InfAndNanAreRefused) {
  EnvGuard env(clean_env());
  test::TempDir dir;
  test::write(dir / "kcat.toml", "[llm]\nprice_prompt_per_mtok = inf\n");
  EXPECT_THROW(load_llm_config({dir / "kcat.toml"}), Error);
  test::write(dir / "kcat.toml", "[llm]\ntemperature = nan\n");
  EXPECT_THROW(validate_llm_config(dir / "kcat.toml"), Error);
}

TEST(LlmConfig, ContextAndStepTokens) {
  EnvGuard env(clean_env());
  test::TempDir dir;
  EXPECT_EQ(load_llm_config({}).context_tokens, 32768);  // issue 18 §4: bounded by default
  EXPECT_EQ(load_llm_config({}).step_tokens, 200000);
  test::write(dir / "kcat.toml", "[llm]\ncontext_tokens = 131072\nstep_tokens = 0\n");
  auto c = load_llm_config({dir / "kcat.toml"});
  EXPECT_EQ(c.context_tokens, 131072);
  EXPECT_EQ(c.step_tokens, 0);
  test::write(dir / "kcat.toml", "[llm]\ncontext_tokens = 100\n");
  EXPECT_THROW(load_llm_config({dir / "kcat.toml"}), Error);
  test::write(dir / "kcat.toml", "[llm]\nstep_tokens = -1\n");
  EXPECT_THROW(load_llm_config({dir / "kcat.toml"}), Error);
}

TEST(LlmConfig, EnvironmentOverridesFile) {
  auto vars = clean_env();
  vars["KCAT_LLM_BASE_URL"] = "http://127.0.0.1:8000/v1";
  vars["KCAT_LLM_MODEL"] = "Qwen/Qwen2.5-7B-Instruct";
  vars["KCAT_LLM_API_KEY"] = "kcat-key";
  vars["MY_LLM_KEY"] = "named-key";
  vars["OPENAI_API_KEY"] = "openai-key";
  vars["OPENAI_BASE_URL"] = "http://openai/v1";
  EnvGuard env(vars);
  test::TempDir dir;
  test::write(dir / "kcat.toml", kToml);
  auto c = load_llm_config({dir / "kcat.toml"});
  EXPECT_EQ(c.base_url, "http://127.0.0.1:8000/v1");
  EXPECT_EQ(c.model, "Qwen/Qwen2.5-7B-Instruct");
  EXPECT_EQ(c.api_key, "kcat-key");
  EXPECT_EQ(describe_key_source(c), "KCAT_LLM_API_KEY");
}

TEST(LlmConfig, ApiKeyEnvBeatsOpenAiFallback) {
  auto vars = clean_env();
  vars["MY_LLM_KEY"] = "named-key";
  vars["OPENAI_API_KEY"] = "openai-key";
  vars["OPENAI_BASE_URL"] = "http://openai/v1";
  EnvGuard env(vars);
  test::TempDir dir;
  test::write(dir / "kcat.toml", kToml);
  auto c = load_llm_config({dir / "kcat.toml"});
  EXPECT_EQ(c.api_key, "named-key");
  EXPECT_EQ(describe_key_source(c), "$MY_LLM_KEY");
  EXPECT_EQ(c.base_url, "https://api.deepseek.com/v1");  // the file beats the OPENAI_ fallback
}

TEST(LlmConfig, OpenAiFallbacks) {
  auto vars = clean_env();
  vars["OPENAI_API_KEY"] = "openai-key";
  vars["OPENAI_BASE_URL"] = "http://openai/v1/";
  vars["KCAT_LLM_MODEL"] = "m";
  EnvGuard env(vars);
  test::TempDir dir;
  auto c = load_llm_config({});
  EXPECT_EQ(c.base_url, "http://openai/v1");
  EXPECT_EQ(c.api_key, "openai-key");
  EXPECT_TRUE(c.configured());
}

TEST(LlmConfig, BadTomlNamesFileAndLine) {
  EnvGuard env(clean_env());
  test::TempDir dir;
  test::write(dir / "kcat.toml", "[llm]\nmodel = \"x\"\nbase_url = http://nope\n");
  try {
    load_llm_config({dir / "kcat.toml"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_EQ(e.where().rfind((dir / "kcat.toml").string() + ":3", 0), 0u) << e.where();
    EXPECT_FALSE(e.hint().empty());
  }
}

TEST(LlmConfig, WrongTypeAndUnknownKeyNameTheLine) {
  EnvGuard env(clean_env());
  test::TempDir dir;
  test::write(dir / "kcat.toml", "[llm]\nmodel = \"x\"\nmax_retries = \"four\"\n");
  try {
    load_llm_config({dir / "kcat.toml"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), (dir / "kcat.toml").string() + ":3");
    EXPECT_NE(std::string(e.what()).find("max_retries"), std::string::npos);
  }
  test::write(dir / "kcat.toml", "[llm]\nmodle = \"x\"\n");
  try {
    load_llm_config({dir / "kcat.toml"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown key 'llm.modle'"), std::string::npos);
    EXPECT_EQ(e.where(), (dir / "kcat.toml").string() + ":2");
  }
}

TEST(LlmConfig, ApiKeyInFileIsRefusedWithoutEchoingIt) {
  EnvGuard env(clean_env());
  test::TempDir dir;
  test::write(dir / "kcat.toml", "[llm]\napi_key = \"sk-very-secret\"\n");
  try {
    load_llm_config({dir / "kcat.toml"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_EQ(e.render().find("sk-very-secret"), std::string::npos);
    EXPECT_NE(e.hint().find("api_key_env"), std::string::npos);
  }
}

}  // namespace
}  // namespace kcat::llm
