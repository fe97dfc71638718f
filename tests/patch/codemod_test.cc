#include "kcat/patch/codemod.h"

#include <gtest/gtest.h>

#include "testsupport/support.h"

namespace kcat::patch {

namespace {
std::string insert(const std::string& src, bool require = true) {
  auto edits = insert_after_torch_import("f.py", src, {"import torch_npu"}, require);
  return apply_edits(src, edits);
}
}  // namespace

TEST(Codemod, ImportTorchNpuGoesAfterTheFirstTorchImportOnce) {
  EXPECT_EQ(insert("import os\nimport torch\nimport torch.nn as nn\n"),
            "import os\nimport torch\nimport torch_npu\nimport torch.nn as nn\n");
  EXPECT_EQ(insert("from torch import nn  # layers\nx = 1\n"),
            "from torch import nn  # layers\nimport torch_npu\nx = 1\n");
  EXPECT_EQ(insert("import torch\r\nx = 1\r\n"), "import torch\r\nimport torch_npu\r\nx = 1\r\n");
  EXPECT_EQ(insert("import torch"), "import torch\nimport torch_npu\n");
  // Already there, torchvision is not torch, and no torch import at all: nothing to do.
  EXPECT_EQ(insert("import torch\nimport torch_npu\n"), "import torch\nimport torch_npu\n");
  EXPECT_EQ(insert("import torchvision\n"), "import torchvision\n");
}

TEST(Codemod, WithoutATorchImportTheShimGoesAfterDocstringAndFuture) {
  EXPECT_EQ(insert("\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\nx = 1\n", false),
            "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\nimport torch_npu\nx = 1\n");
  EXPECT_EQ(insert("#!/usr/bin/env python3\nx = 1\n", false),
            "#!/usr/bin/env python3\nimport torch_npu\nx = 1\n");
}

TEST(Codemod, FindingsBecomeEditsOnlyWithAReplacement) {
  test::TempDir dir;
  test::write(dir / "t.py", "import torch\nx = torch.ones(1).cuda()\n");
  Finding a;
  a.file = "t.py";
  a.rule_id = "py.cuda-method";
  a.category = "device-call";
  a.codemod = "replace";
  a.replacement = "npu";
  a.span.begin = 31;
  a.span.end = 35;
  Finding b = a;
  b.replacement.clear();  // withdrawn by the knowledge base
  b.span.begin = 0;
  b.span.end = 1;
  Finding c = a;
  c.context = Context::Comment;
  std::vector<Finding> applied;
  auto p = codemod_patch(dir.path(), {a, b, c}, &applied);
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_EQ(apply_edits(test::read(dir / "t.py"), p.edits),
            "import torch\nimport torch_npu\nx = torch.ones(1).npu()\n");
}

TEST(Codemod, ShimOnlyAtEntryPoints) {
  test::TempDir dir;
  test::write(dir / "main.py", "import torch\n\nif __name__ == \"__main__\":\n    pass\n");
  test::write(dir / "lib.py", "import torch\n");
  auto p = shim_patch(dir.path(), {"main.py", "lib.py"});
  ASSERT_EQ(p.edits.size(), 1u);
  EXPECT_EQ(p.edits[0].file, "main.py");
  EXPECT_EQ(p.edits[0].replacement, "import torch_npu\nfrom torch_npu.contrib import transfer_to_npu\n");
}

}  // namespace kcat::patch

namespace kcat::patch {

// Issue 12: a setup.py got an unconditional `import torch_npu`, which breaks the build wherever
// torch_npu is not installed.
TEST(Codemod, BuildFilesGetTheImportGuarded) {
  test::TempDir dir;
  std::string setup = "import torch\nfrom setuptools import setup\nok = torch.cuda.is_available()\n";
  test::write(dir / "setup.py", setup);
  test::write(dir / "pkg" / "ext.py",
              "import torch\nfrom torch.utils.cpp_extension import load\nx = torch.ones(1).cuda()\n");
  Finding a;
  a.file = "setup.py";
  a.rule_id = "py.torch-cuda-api";
  a.category = "cuda-api";
  a.codemod = "replace";
  a.replacement = "npu";
  a.span.begin = static_cast<uint32_t>(setup.find("cuda.is"));
  a.span.end = a.span.begin + 4;
  auto p = codemod_patch(dir.path(), {a});
  EXPECT_EQ(apply_edits(setup, p.edits),
            "import torch\ntry:\n    import torch_npu  # noqa: F401\nexcept ImportError:\n    pass\n"
            "from setuptools import setup\nok = torch.npu.is_available()\n");
  EXPECT_TRUE(is_build_file("pkg/ext.py", test::read(dir / "pkg" / "ext.py")));
  EXPECT_FALSE(is_build_file("train.py", "import torch\n"));
  // Already imported (guarded or not): nothing added.
  test::write(dir / "setup.py",
              "import torch\ntry:\n    import torch_npu\nexcept ImportError:\n    pass\nok = "
              "torch.cuda.is_available()\n");
  auto again = codemod_patch(dir.path(), {a});
  EXPECT_EQ(again.edits.size(), 1u);
}

// A compared literal the analyzer proved keeps its mark on the edit (the gate's meaning check).
TEST(Codemod, ProvenComparedLiteralsAreMarkedOnTheEdit) {
  test::TempDir dir;
  test::write(dir / "t.py", "if x.device.type == 'cuda':\n    pass\n");
  Finding f;
  f.file = "t.py";
  f.rule_id = "py.device-string";
  f.category = "device-call";
  f.codemod = "replace-compared";
  f.replacement = "npu";
  f.span.begin = 21;
  f.span.end = 25;
  std::vector<Finding> unported;
  auto p = codemod_patch(dir.path(), {f}, nullptr, &unported);
  ASSERT_EQ(p.edits.size(), 1u);  // no torch import to anchor torch_npu's
  EXPECT_TRUE(p.edits[0].proven_compared);
  // ... which is reported, not silent (issue 12)
  ASSERT_EQ(unported.size(), 1u);
  EXPECT_EQ(unported[0].rule_id, "patch.torch-npu-import");
  EXPECT_EQ(unported[0].file, "t.py");
}

}  // namespace kcat::patch
