#include "kcat/core/json.h"

#include <gtest/gtest.h>

namespace kcat {

TEST(JsonText, BytesThatAreNotUtf8AreReplacedNeverThrown) {
  nlohmann::json j = {{"file", std::string("b\xff.py")}, {"text", std::string("caf\xe9\xc3")}};
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error);  // what every plain dump() did
  auto text = json_text(j);
  EXPECT_TRUE(nlohmann::json::accept(text)) << text;
  EXPECT_EQ(nlohmann::json::parse(text)["file"], "b\xef\xbf\xbd.py");
  EXPECT_NE(json_text(j, 2).find("\n  "), std::string::npos);
}

}  // namespace kcat
