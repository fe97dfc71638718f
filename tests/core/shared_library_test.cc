#include <git2.h>
#include <gtest/gtest.h>

#include "kcat/core/error.h"
#include "kcat/core/shared_library.h"

namespace kcat {
namespace {

TEST(SharedLibrary, AMissingLibraryIsAnEnvironmentErrorThatSaysWhatToInstall) {
  SharedLibrary lib("libkcat-does-not-exist.so.7", "the test", "apt install kcat-nothing");
  try {
    lib.symbol("anything");
    FAIL() << "loaded a library that does not exist";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Environment);
    EXPECT_NE(std::string(e.what()).find("libkcat-does-not-exist.so.7"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("the test"), std::string::npos) << e.what();
    EXPECT_EQ(e.hint(), "apt install kcat-nothing");
  }
  // Asked again, the same answer (the failure is remembered, not retried into a crash).
  EXPECT_THROW(lib.symbol("anything"), Error);
}

TEST(SharedLibrary, AMissingFunctionIsNamed) {
  SharedLibrary lib("libc.so.6", "the test", "nothing to install");
  EXPECT_NE(lib.symbol("strlen"), nullptr);
  auto strlen_fn = lib.function<size_t (*)(const char*)>("strlen");
  EXPECT_EQ(strlen_fn("kcat"), 4u);
  try {
    lib.symbol("kcat_no_such_function");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("kcat_no_such_function"), std::string::npos) << e.what();
  }
}

// kcat is not linked with libgit2: its functions are kcat's forwarders, which load it on first use.
TEST(SharedLibrary, LibgitIsLoadedOnFirstUse) {
  int major = 0, minor = 0, rev = 0;
  ASSERT_EQ(git_libgit2_version(&major, &minor, &rev), 0);
  EXPECT_EQ(major, LIBGIT2_VER_MAJOR);
  EXPECT_EQ(minor, LIBGIT2_VER_MINOR);
}

}  // namespace
}  // namespace kcat
