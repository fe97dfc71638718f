#pragma once
// A string literal is rewritten only where the rewrite keeps the program's meaning (issue 12: a
// wrong edit is worse than a missed one). The analyzer finds 'cuda', 'nccl', 'flash_attention_2';
// this pass, on the whole file's tree, decides for each codemod whether it may stand:
// - a literal that reaches a device / backend / attention parameter (an argument, a keyword, a
//   default, an assigned value) is rewritten;
// - a compared literal (==, !=, in, startswith, match case, dict key, subscript key) only when the
//   other operand takes the new value on an NPU host (x.device.type, dist.get_backend(), or a
//   variable whose every assignment is rewritten), no test of the chain already names the new
//   value, and the branch is not a rejection (raise, assert, exit, log-and-return); such a kept
//   codemod becomes "replace-compared", which the gate's meaning check accepts;
// - a path component (os.path.join, Path, /, open, glob) or a message (print, logging, warnings,
//   an exception's argument, an assert's message) is no device string: info, no codemod;
// - a file that already knows the NPU (a guarded torch_npu import, an NPU availability check, a
//   dispatch naming both CUDA and NPU) or abstracts the accelerator (get_accelerator()), code
//   under a torch.version.hip / torch.version.cuda check, and lines with the project's own
//   marker (#ignore-cuda) keep their finding but lose the codemod.
// A withheld codemod's reason is in the finding's action ("not rewritten: ...").
#include <string_view>
#include <vector>

#include "kcat/core/finding.h"

namespace kcat::scan::py {

void judge_literals(std::string_view src, std::vector<Finding>& findings);

}  // namespace kcat::scan::py
