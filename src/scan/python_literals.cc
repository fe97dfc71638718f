// Which literal rewrites keep the program's meaning: see python_literals.h.
#include "python_literals.h"

#include <re2/re2.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "kcat/kb/advice.h"
#include "kcat/scan/parser.h"
#include "python_ts.h"

namespace kcat::scan::py {

namespace {

std::string squeeze(std::string_view t) {
  std::string s;
  for (char c : t) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\\') s += c;
  }
  return s;
}

bool within(TSNode inner, TSNode outer) {
  return !ts_node_is_null(outer) && ts_node_start_byte(inner) >= ts_node_start_byte(outer) &&
         ts_node_end_byte(inner) <= ts_node_end_byte(outer);
}

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

bool starts_with(std::string_view s, std::string_view head) { return s.substr(0, head.size()) == head; }

// How a literal is used.
enum class Use { Value, Compared, Key, Path, Message };

struct Site {
  Use use = Use::Value;
  TSNode anchor{};             // the comparison, call, subscript, dict or match the literal sits in
  std::vector<TSNode> others;  // the other operands of a comparison (the match subject)
  TSNode case_clause{};        // for a match case
  std::string what;            // how the use reads in a reason ("==", "match case", ...)
};

// The project's own "leave this line" markers (a comment on the line).
const RE2& marker_re() {
  static const RE2 re(R"(#.*\b(ignore-cuda|ignore_cuda|no-npu|kcat:\s*ignore|kcat-ignore)\b)");
  return re;
}

const RE2& cuda_literal_re() {
  static const RE2 re(R"(['"](cuda|nccl)['":])");
  return re;
}

const RE2& npu_literal_re() {
  static const RE2 re(R"(['"](npu|hccl)['":])");
  return re;
}

class Judge {
 public:
  Judge(std::string_view src, TSNode root, std::string_view path) : src_(src), root_(root) {
    scan_file();
    custom_op_test_ = custom_op_test(path);
  }

  void run(std::vector<Finding>& findings) {
    mark_graph_scopes(findings);
    // Pass 1: every codemod but compared literals; pass 2: compared literals, which may rely on
    // the values pass 1 keeps (a variable whose every assignment is rewritten).
    std::vector<std::pair<Finding*, Site>> compared;
    for (auto& f : findings) {
      if (f.codemod.empty() || f.context != Context::Code) continue;
      if (auto reason = everywhere_reason(f)) {
        withhold(f, *reason);
        continue;
      }
      if (auto left = cuda_only_reason(f)) {
        // The reason is the whole action: a "by hand: use npu" would say the opposite.
        f.codemod.clear();
        f.action = "not rewritten: " + left->why;
        if (!left->blocks && f.severity == Severity::Blocking) f.severity = Severity::Warning;
        continue;
      }
      TSNode s = string_at(f.span.begin, f.span.end);
      if (ts_node_is_null(s)) {
        // An API, a method, an import. In a file that already handles the NPU beside CUDA, a
        // rename turns the CUDA path into a second copy of the NPU one (accuracy finding F4).
        if (knows_npu_ && f.codemod == "replace") {
          withhold(f, *knows_npu_);
        } else if (auto reason = capability_read(f)) {
          withhold(f, *reason);
        } else if (auto why = availability_reason(f)) {
          withhold(f, *why);
        } else if (auto flag = cuda_choice_flag_reason(f)) {
          withhold(f, *flag);
        }
        continue;
      }
      Site site = site_of(s);
      if (site.use == Use::Path) {
        not_a_device(f, "a path component (a folder or file name), not a device or backend name");
        continue;
      }
      if (site.use == Use::Message) {
        not_a_device(f,
                     "part of a message (print, log, warning, exception, assert), not a device or backend");
        continue;
      }
      if (f.codemod != "replace") {  // env-rename: an environment variable's name
        // Beside an NPU branch, CUDA_VISIBLE_DEVICES is the CUDA arm's own (accuracy finding F4).
        if (knows_npu_) withhold(f, *knows_npu_);
        continue;
      }
      if (site.use == Use::Compared || site.use == Use::Key) {
        compared.emplace_back(&f, site);
        continue;
      }
      if (auto reason = file_reason()) {
        withhold(f, *reason);
        continue;
      }
      if (auto reason = definition_reason(s)) {
        withhold(f, *reason);
        continue;
      }
      if (auto reason = collective_fp64_reason(s)) {
        withhold(f, *reason);
        continue;
      }
      kept_[ts_node_start_byte(s)] = f.replacement;
    }
    for (auto& [f, site] : compared) {
      std::optional<std::string> reason = file_reason();
      if (!reason) reason = compared_reason(*f, site);
      if (reason) {
        withhold(*f, *reason);
        // Left as is, the test takes its non-CUDA branch on the NPU: a risk to check, not a
        // blocker (the rules' comparison_severity says the same for 'nccl' and attention names).
        if (f->severity == Severity::Blocking) f->severity = Severity::Warning;
      } else {
        f->codemod = "replace-compared";  // the gate's meaning check accepts it (semantic_check.h)
      }
    }
    withhold_unsafe_guards(findings);
  }

 private:
  std::string_view text(TSNode n) const {
    return ts_node_is_null(n) ? std::string_view() : node_text(n, src_);
  }

  TSNode string_at(uint32_t begin, uint32_t end) const {
    TSNode n = ts_node_descendant_for_byte_range(root_, begin, end);
    while (!ts_node_is_null(n) && !is(n, "string")) {
      if (is(n, "interpolation")) return TSNode{};  // the span is code inside an f-string
      n = ts_node_parent(n);
    }
    return n;
  }

  // The expression whose value the literal is, climbing through parentheses, concatenation,
  // formatting (%, +, .format()), a conditional's arms and a tuple / list / set.
  TSNode carrier(TSNode e) const {
    while (true) {
      TSNode p = ts_node_parent(e);
      if (ts_node_is_null(p)) return e;
      if (is(p, "parenthesized_expression") || is(p, "concatenated_string") || is(p, "tuple") ||
          is(p, "list") || is(p, "set") || is(p, "expression_list")) {
        e = p;
        continue;
      }
      if (is(p, "binary_operator")) {
        auto op = text(field(p, "operator"));
        if (op == "%" || op == "+") {
          e = p;
          continue;
        }
        return e;
      }
      if (is(p, "conditional_expression")) {
        if (ts_node_named_child_count(p) >= 2 && ts_node_eq(ts_node_named_child(p, 1), e)) return e;
        e = p;
        continue;
      }
      if (is(p, "attribute") && ts_node_eq(field(p, "object"), e) &&
          text(field(p, "attribute")) == "format") {
        TSNode call = ts_node_parent(p);
        if (is(call, "call") && ts_node_eq(field(call, "function"), p)) {
          e = call;
          continue;
        }
      }
      return e;
    }
  }

  static bool is_path_call(std::string_view fn) {
    static const char* exact[] = {"open",       "Path",        "pathlib.Path", "PurePath",
                                  "PosixPath",  "glob",        "glob.glob",    "glob.iglob",
                                  "os.listdir", "os.makedirs", "os.mkdir",     "os.remove",
                                  "os.scandir", "io.open",     "codecs.open",  "os.walk"};
    if (std::any_of(std::begin(exact), std::end(exact), [&](const char* x) { return fn == x; })) return true;
    static const char* tails[] = {"path.join",  ".joinpath",   ".glob",       ".rglob", "path.exists",
                                  "path.isdir", "path.isfile", "shutil.copy", ".open",  "path.basename"};
    return std::any_of(std::begin(tails), std::end(tails), [&](const char* t) { return ends_with(fn, t); });
  }

  static bool is_message_call(std::string_view fn) {
    if (fn == "print" || fn == "warn" || fn == "warnings.warn" || fn == "sys.exit" || fn == "exit" ||
        fn == "print_rank_0" || fn == "rank_zero_info" || fn == "rank_zero_warn") {
      return true;
    }
    auto dot = fn.rfind('.');
    auto last = dot == std::string_view::npos ? fn : fn.substr(dot + 1);
    if (ends_with(last, "Error") || ends_with(last, "Exception") || ends_with(last, "Warning")) return true;
    static const char* levels[] = {"debug",     "info",     "warning", "warn", "error",
                                   "exception", "critical", "fatal",   "log"};
    if (dot == std::string_view::npos) return false;
    auto owner = fn.substr(0, dot);
    bool logger = owner.find("log") != std::string_view::npos || owner.find("LOG") != std::string_view::npos;
    return logger &&
           std::any_of(std::begin(levels), std::end(levels), [&](const char* l) { return last == l; });
  }

  Site site_of(TSNode s) const {
    Site site;
    TSNode e = carrier(s);
    TSNode p = ts_node_parent(e);
    if (ts_node_is_null(p)) return site;
    site.anchor = p;
    if (is(p, "comparison_operator")) {
      site.use = Use::Compared;
      for (uint32_t i = 0; i < ts_node_named_child_count(p); ++i) {
        TSNode o = ts_node_named_child(p, i);
        if (!ts_node_eq(o, e)) site.others.push_back(o);
      }
      site.what = "compared";
      return site;
    }
    if (is(p, "pair") && ts_node_eq(field(p, "key"), e)) {
      site.use = Use::Key;
      site.what = "a dict key (a dispatch table)";
      return site;
    }
    if (is(p, "subscript") && !ts_node_eq(field(p, "value"), e)) {
      site.use = Use::Key;
      site.what = "a lookup key";
      return site;
    }
    if (is(p, "argument_list")) {
      TSNode call = ts_node_parent(p);
      TSNode fn = field(call, "function");
      auto name = squeeze(text(fn));
      if (is_path_call(name)) return {Use::Path, p, {}, {}, "path"};
      if (is_message_call(name)) return {Use::Message, p, {}, {}, "message"};
      if (is(fn, "attribute")) {
        auto attr = text(field(fn, "attribute"));
        if (attr == "startswith" || attr == "endswith") {
          site.use = Use::Compared;
          site.others.push_back(field(fn, "object"));
          site.anchor = call;
          site.what = "compared (" + std::string(attr) + ")";
        }
      }
      return site;
    }
    if (is(p, "binary_operator") && text(field(p, "operator")) == "/") return {Use::Path, p, {}, {}, "path"};
    if (is(p, "assert_statement") && !ts_node_eq(ts_node_named_child(p, 0), e))
      return {Use::Message, p, {}, {}, "message"};
    if (is(p, "raise_statement")) return {Use::Message, p, {}, {}, "message"};
    // A match case's pattern.
    for (TSNode a = p; !ts_node_is_null(a) && !is(a, "block") && !is(a, "module"); a = ts_node_parent(a)) {
      if (!is(a, "case_clause")) continue;
      if (within(e, field(a, "consequence"))) break;
      site.use = Use::Compared;
      site.case_clause = a;
      TSNode match = ts_node_parent(ts_node_parent(a));
      if (is(match, "match_statement")) site.others.push_back(field(match, "subject"));
      site.what = "a match case";
      break;
    }
    return site;
  }

  // ---- the file -------------------------------------------------------------------------------

  template <class F>
  void each(TSNode root, F&& f) const {
    each_named_node(root, std::forward<F>(f));
  }

  // The conditions of an if/elif chain, as one text.
  std::string chain_conditions(TSNode if_stmt) const {
    std::string t(text(field(if_stmt, "condition")));
    for (uint32_t i = 0; i < ts_node_named_child_count(if_stmt); ++i) {
      TSNode c = ts_node_named_child(if_stmt, i);
      if (is(c, "elif_clause")) t += "\n" + std::string(text(field(c, "condition")));
    }
    return t;
  }

  void scan_file() {
    if (src_.find("is_torch_npu_available") != std::string_view::npos ||
        src_.find("is_npu_available") != std::string_view::npos) {
      knows_npu_ = "the file already checks for the NPU (is_*npu_available)";
    }
    if (src_.find("get_accelerator()") != std::string_view::npos)
      abstraction_ = "the file goes through an accelerator abstraction (get_accelerator())";
    static const RE2 lightning(R"((?m)^\s*(import|from)\s+(lightning|pytorch_lightning)\b)");
    if (!abstraction_ && RE2::PartialMatch(re2::StringPiece(src_.data(), src_.size()), lightning))
      abstraction_ =
          "the file uses Lightning, which has no built-in NPU accelerator (accelerator='npu' raises)";
    // A kernel DSL imported unconditionally at the top: the file's kernels do not run on the NPU
    // (recipe kernel-dsl-port), so renaming its torch.cuda calls and device strings ports nothing.
    static const RE2 dsl(R"((?m)^(?:import|from)\s+(cutlass|tilelang|quack|cuda\.tile)\b)");
    std::string dsl_name;
    if (RE2::PartialMatch(re2::StringPiece(src_.data(), src_.size()), dsl, &dsl_name))
      dsl_ =
          "the file runs " + dsl_name +
          " kernels, which do not run on the NPU as written (recipe kernel-dsl-port: route the entry point "
          "to the repository's Triton path or its reference instead)";
    static const RE2 collective(
        R"(\b(all_reduce|all_gather|all_gather_into_tensor|reduce_scatter|reduce_scatter_tensor|broadcast|reduce|all_to_all)\()");
    collective_ = RE2::PartialMatch(re2::StringPiece(src_.data(), src_.size()), collective);
    static const RE2 build(R"((?m)^\s*(import|from)\s+(setuptools|distutils|skbuild)\b)");
    if (RE2::PartialMatch(re2::StringPiece(src_.data(), src_.size()), build))
      build_ =
          "a build script: its CUDA checks choose the CUDA toolchain (CUDAExtension, nvcc), not a device";
    each(root_, [&](TSNode n) {
      if (is(n, "if_statement")) {
        auto conds = chain_conditions(n);
        // `== "cuda"` beside `== "npu"`, `== DeviceType.CUDA` beside `== DeviceType.NPU`, or
        // `torch.cuda...` beside `torch.npu...`. A member, not a bare name: a variable called `cuda`
        // beside kcat's own earlier `torch.npu.device_count()` (yolov5's `if cuda and RANK == -1
        // and torch.npu.device_count() > 1:`, held-out review) is no NPU branch of the project's.
        static const RE2 cuda_word(R"((?i)\.cuda\b)"), npu_word(R"((?i)\.npu\b)");
        if (!knows_npu_ &&
            ((RE2::PartialMatch(conds, cuda_literal_re()) && RE2::PartialMatch(conds, npu_literal_re())) ||
             (RE2::PartialMatch(conds, cuda_word) && RE2::PartialMatch(conds, npu_word))))
          knows_npu_ = "the file already has an NPU branch beside the CUDA one";
        if (conds.find("torch.version.hip") != std::string::npos ||
            conds.find("torch.version.cuda") != std::string::npos) {
          version_checks_.push_back(n);
        }
      } else if (is(n, "conditional_expression") && ts_node_named_child_count(n) >= 2) {
        auto cond = text(ts_node_named_child(n, 1));
        if (cond.find("torch.version.hip") != std::string_view::npos ||
            cond.find("torch.version.cuda") != std::string_view::npos) {
          version_checks_.push_back(n);
        }
      } else if (!knows_npu_ && (is(n, "dictionary") || is(n, "tuple") || is(n, "list") || is(n, "set") ||
                                 is(n, "match_statement"))) {
        if (ts_node_end_byte(n) - ts_node_start_byte(n) < 4000) {
          auto t = text(n);
          re2::StringPiece sp(t.data(), t.size());
          if (RE2::PartialMatch(sp, cuda_literal_re()) && RE2::PartialMatch(sp, npu_literal_re()))
            knows_npu_ = "the file already names the NPU beside CUDA (a dispatch with both)";
        }
      } else if (!knows_npu_ && is(n, "comparison_operator") &&
                 ts_node_end_byte(n) - ts_node_start_byte(n) < 400) {
        // `triton.runtime.driver.active.get_current_target().backend == 'npu'` (fla's device module
        // on triton-ascend): the file already tells the NPU apart; renaming its CUDA / HIP arms
        // breaks them and changes nothing on the NPU. (Not any `== 'npu'`: kcat's own earlier
        // steps write those.)
        auto t = text(n);
        static const RE2 npu_compared(R"(['"]npu['"])");
        re2::StringPiece sp(t.data(), t.size());
        if (t.find("get_current_target") != std::string_view::npos && RE2::PartialMatch(sp, npu_compared))
          knows_npu_ =
              "the file already asks Triton's driver for the NPU backend (get_current_target() == 'npu')";
      } else if ((is(n, "import_statement") || is(n, "import_from_statement")) &&
                 text(n).find("torch_npu") != std::string_view::npos && !knows_npu_) {
        for (TSNode a = ts_node_parent(n); !ts_node_is_null(a); a = ts_node_parent(a)) {
          if (is(a, "try_statement") || is(a, "if_statement")) {
            knows_npu_ = "the file already imports torch_npu behind a check";
            break;
          }
        }
      }
      collect_binding(n);
    });
  }

  // Every place a name is bound: the bound value, or a null node when the value is not one
  // expression kcat can follow (a parameter, a loop variable, a tuple unpacking, +=).
  void collect_binding(TSNode n) {
    auto add = [&](TSNode name, TSNode value) { bindings_[squeeze(text(name))].push_back(value); };
    if (is(n, "assignment")) {
      TSNode left = field(n, "left"), right = field(n, "right");
      if (ts_node_is_null(right)) return;  // `x: str`
      if (is(left, "identifier") || is(left, "attribute")) {
        add(left, right);
      } else {
        each(left, [&](TSNode c) {
          if (is(c, "identifier") || is(c, "attribute")) add(c, TSNode{});
        });
      }
    } else if (is(n, "augmented_assignment")) {
      add(field(n, "left"), TSNode{});
    } else if (is(n, "default_parameter") || is(n, "typed_default_parameter")) {
      add(field(n, "name"), field(n, "value"));
    } else if (is(n, "parameters") || is(n, "lambda_parameters")) {
      for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) {
        TSNode c = ts_node_named_child(n, i);
        if (is(c, "identifier")) add(c, TSNode{});
        if (is(c, "typed_parameter") && ts_node_named_child_count(c) > 0)
          add(ts_node_named_child(c, 0), TSNode{});
      }
    } else if (is(n, "for_statement") || is(n, "for_in_clause")) {
      each(field(n, "left"), [&](TSNode c) {
        if (is(c, "identifier")) add(c, TSNode{});
      });
    } else if (is(n, "as_pattern_target")) {
      each(n, [&](TSNode c) {
        if (is(c, "identifier")) add(c, TSNode{});
      });
    } else if (is(n, "named_expression")) {
      add(field(n, "name"), field(n, "value"));
    } else if (is(n, "global_statement") || is(n, "nonlocal_statement")) {
      for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) add(ts_node_named_child(n, i), TSNode{});
    }
  }

  // ---- reasons --------------------------------------------------------------------------------

  // The whole line that holds byte `at`.
  std::string_view line_at(size_t at) const {
    auto b = src_.rfind('\n', at == 0 ? 0 : at - 1);
    b = b == std::string_view::npos ? 0 : b + 1;
    auto e = src_.find('\n', at);
    return src_.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b);
  }

  // torch.cuda.is_available() that chooses something the NPU does not have: Lightning's CUDA
  // accelerator (accuracy F8), or a condition that goes on to read the CUDA compute capability,
  // which stays CUDA (F2): renaming only the first half makes the second raise on the NPU.
  std::optional<std::string> availability_reason(const Finding& f) const {
    if (f.matched != "torch.cuda.is_available") return std::nullopt;
    if (abstraction_) return abstraction_;
    auto line = line_at(f.span.begin);
    if (line.find("get_device_capability") != std::string_view::npos ||
        line.find("get_device_properties") != std::string_view::npos)
      return std::string("the same condition reads the CUDA compute capability, which has no NPU meaning");
    return std::nullopt;
  }

  // `cuda = torch.cuda.is_available() and ...` whose every use chooses a CUDA-only package, execution
  // provider or GPU setting ("onnxruntime-gpu" if cuda else "onnxruntime", CUDAExecutionProvider,
  // config.enable_use_gpu): on the NPU the non-CUDA choice is the right one, and the rename would ask
  // an NPU host for the CUDA packages (held-out review: yolov5 export.py, models/common.py).
  std::optional<std::string> cuda_choice_flag_reason(const Finding& f) const {
    if (f.matched != "torch.cuda.is_available") return std::nullopt;
    static const RE2 cuda_only(
        R"((?i)(-gpu\b|_gpu\b|\bgpu\b|CUDAExecutionProvider|TensorrtExecutionProvider))");
    static const RE2 cpu_build(R"((?i)-cpu\b)");
    // Directly: `f"tensorflow{'' if torch.cuda.is_available() else '-cpu'}"` picks the GPU build or the
    // -cpu one; on an NPU host the -cpu build is the right one (held-out review, yolov5 export.py).
    const TSNode at = ts_node_descendant_for_byte_range(root_, f.span.begin, f.span.end);
    for (TSNode a = at; !ts_node_is_null(a); a = ts_node_parent(a)) {
      if (is(a, "conditional_expression") && ts_node_named_child_count(a) == 3) {
        if (!within(at, ts_node_named_child(a, 1))) break;
        auto yes = text(ts_node_named_child(a, 0)), no = text(ts_node_named_child(a, 2));
        if (RE2::PartialMatch(re2::StringPiece(yes.data(), yes.size()), cuda_only) ||
            RE2::PartialMatch(re2::StringPiece(no.data(), no.size()), cpu_build))
          return std::string(
              "the condition only picks a CUDA build of a package (or its -cpu build): on the NPU the "
              "non-CUDA choice is the right one");
        break;
      }
      if (is(a, "expression_statement") || is(a, "block") || is(a, "assignment")) break;
    }
    TSNode asg{};
    for (TSNode a = at; !ts_node_is_null(a); a = ts_node_parent(a)) {
      if (is(a, "assignment")) {
        asg = a;
        break;
      }
      if (is(a, "expression_statement") || is(a, "block") || is(a, "if_statement")) break;
    }
    if (ts_node_is_null(asg) || !is(field(asg, "left"), "identifier")) return std::nullopt;
    auto name = text(field(asg, "left"));
    TSNode scope = root_;
    for (TSNode a = ts_node_parent(asg); !ts_node_is_null(a); a = ts_node_parent(a)) {
      if (is(a, "function_definition")) {
        scope = a;
        break;
      }
    }
    size_t uses = 0;
    bool all_choose_cuda_only = true;
    each(scope, [&](TSNode n) {
      if (!is(n, "identifier") || text(n) != name || within(n, field(asg, "left"))) return;
      TSNode p = ts_node_parent(n);
      if (is(p, "attribute") && ts_node_eq(field(p, "attribute"), n)) return;  // torch.cuda: not the flag
      if (is(p, "keyword_argument") && ts_node_eq(field(p, "name"), n)) return;
      ++uses;
      TSNode choice{};
      for (TSNode a = ts_node_parent(n); !ts_node_is_null(a); a = ts_node_parent(a)) {
        if (is(a, "conditional_expression") && ts_node_named_child_count(a) == 3 &&
            within(n, ts_node_named_child(a, 1))) {
          choice = ts_node_named_child(a, 0);
          break;
        }
        if (is(a, "if_statement") && within(n, field(a, "condition"))) {
          choice = field(a, "consequence");
          break;
        }
        if (is(a, "expression_statement") || is(a, "block")) break;
      }
      auto chosen = text(choice);
      if (ts_node_is_null(choice) ||
          !RE2::PartialMatch(re2::StringPiece(chosen.data(), chosen.size()), cuda_only))
        all_choose_cuda_only = false;
    });
    if (uses == 0 || !all_choose_cuda_only) return std::nullopt;
    return "`" + std::string(name) +
           "` only chooses CUDA-only packages or settings (a -gpu package, CUDAExecutionProvider, a GPU "
           "option): on the NPU the non-CUDA choice is the right one";
  }

  std::optional<std::string> everywhere_reason(const Finding& f) const {
    if (build_) return build_;
    if (dsl_) return dsl_;
    auto line = line_at(f.span.begin);
    if (RE2::PartialMatch(re2::StringPiece(line.data(), line.size()), marker_re()))
      return std::string("the line carries the project's own marker to leave it as is");
    TSNode at = ts_node_descendant_for_byte_range(root_, f.span.begin, f.span.end);
    if (f.matched.rfind("torch.cuda.", 0) == 0) {
      // `assert torch.cuda.is_available(), 'CUDA required for APEX'`: the guard protects a
      // CUDA-only dependency; on the NPU it would pass and the failure move later (F5). The whole
      // assert stays: porting its device_count() beside the kept is_available() changes nothing
      // but reads as ported (held-out review, yolov5 utils/torch_utils.py).
      for (TSNode a = at; !ts_node_is_null(a); a = ts_node_parent(a)) {
        if (!is(a, "assert_statement")) continue;
        auto cond = text(ts_node_named_child(a, 0));
        if (f.matched != "torch.cuda.is_available" && cond.find("is_available") == std::string_view::npos)
          break;
        if (ts_node_named_child_count(a) >= 2) {
          auto msg = text(ts_node_named_child(a, 1));
          if (msg.find("CUDA") != std::string_view::npos || msg.find("cuda") != std::string_view::npos ||
              msg.find("GPU") != std::string_view::npos)
            return std::string("the assert guards something that needs CUDA itself (its message says so)");
        }
        break;
      }
    }
    for (TSNode v : version_checks_) {
      if (within(at, v))
        return std::string(
            "under a torch.version.hip / torch.version.cuda check: the code already chooses its backend");
    }
    return std::nullopt;
  }

  // ---- CUDA-only code that is left whole (accuracy findings F10, F12, F13, F16) ----------------

  // A test file of the repository's own compiled operators (torch.ops.<its namespace>, opcheck):
  // the ops have the kernels the project built (CPU, CUDA); its CUDA tests move to the NPU only
  // once an op has an NPU kernel (F10, extension-cpp test/test_extension.py).
  std::optional<std::string> custom_op_test(std::string_view path) const {
    auto slash = path.rfind('/');
    auto base = slash == std::string_view::npos ? path : path.substr(slash + 1);
    std::string dirs = "/" + std::string(path.substr(0, slash == std::string_view::npos ? 0 : slash)) + "/";
    bool test = starts_with(base, "test_") || ends_with(base, "_test.py") || base == "conftest.py" ||
                dirs.find("/test/") != std::string::npos || dirs.find("/tests/") != std::string::npos;
    if (!test) return std::nullopt;
    static const RE2 ops(R"(\btorch\.ops\.([A-Za-z_][A-Za-z0-9_]*)\.)");
    static const std::set<std::string, std::less<>> torch_namespaces = {
        "aten",         "prims",    "quantized", "_c10d_functional", "c10d",       "c10d_functional",
        "higher_order", "profiler", "npu",       "torch_npu",        "_quantized", "_caffe2",
        "mkldnn",       "onednn",   "inductor"};
    const re2::StringPiece whole(src_.data(), src_.size());
    re2::StringPiece in = whole;
    std::string ns;
    while (RE2::FindAndConsume(&in, ops, &ns)) {
      if (!torch_namespaces.count(ns))
        return "a test of the repository's own compiled operators (torch.ops." + ns +
               "), which have the kernels the project builds (CPU, CUDA): port the test once the op has an "
               "NPU kernel";
    }
    static const RE2 opcheck(R"(\bopcheck\()");
    if (RE2::PartialMatch(whole, opcheck))
      return std::string(
          "a test of the repository's own registered operators (opcheck), which have the kernels the project "
          "builds (CPU, CUDA): port the test once the op has an NPU kernel");
    return std::nullopt;
  }

  // The function (or the module) around each CUDA graph the rules found: its streams and graph
  // are ported together or not at all (F13, mamba utils/generation.py capture_graph).
  void mark_graph_scopes(const std::vector<Finding>& findings) {
    for (auto& f : findings) {
      if (f.rule_id != "py.cuda-graph" || f.context != Context::Code) continue;
      TSNode scope = root_;
      for (TSNode a = ts_node_descendant_for_byte_range(root_, f.span.begin, f.span.end); !ts_node_is_null(a);
           a = ts_node_parent(a)) {
        if (is(a, "function_definition")) {
          scope = a;
          break;
        }
      }
      graph_scopes_.emplace_back(scope, f.matched + " on line " + std::to_string(f.span.start.line));
    }
  }

  // What in `block` runs only on CUDA: a call of the project's own CUDA entry point (a name
  // ending in _cuda or starting with cuda_), a Triton kernel launch (kernel[grid](...)), or
  // anything imported from or named triton. Empty when nothing is.
  std::string cuda_only_code(TSNode block) const {
    std::string found;
    if (ts_node_is_null(block)) return found;
    each(block, [&](TSNode n) {
      if (!found.empty()) return;
      if (is(n, "call")) {
        TSNode fn = field(n, "function");
        if (is(fn, "subscript")) {
          found = "a kernel launch (" + std::string(text(field(fn, "value"))) + "[grid])";
          return;
        }
        if (starts_with(squeeze(text(fn)), "torch.")) return;
        each(fn, [&](TSNode id) {
          auto t = text(id);
          if (found.empty() && is(id, "identifier") && (ends_with(t, "_cuda") || starts_with(t, "cuda_")))
            found = std::string(t);
        });
      } else if (is(n, "import_from_statement") || is(n, "import_statement")) {
        if (text(n).find("triton") != std::string_view::npos) found = "an import of Triton code";
      } else if (is(n, "attribute") && starts_with(text(n), "triton.")) {
        found = std::string(text(n));
      }
    });
    return found;
  }

  // The branch a device check chooses (the consequence of the if / elif whose condition holds `at`);
  // null when `at` is not in such a condition.
  TSNode guarded_block(TSNode at) const {
    for (TSNode a = at; !ts_node_is_null(a); a = ts_node_parent(a)) {
      if (is(a, "function_definition") || is(a, "class_definition") || is(a, "block")) return TSNode{};
      if ((is(a, "if_statement") || is(a, "elif_clause")) && within(at, field(a, "condition")))
        return field(a, "consequence");
    }
    return TSNode{};
  }

  // A device check (x.is_cuda, torch.cuda.is_available(), == 'cuda') whose branch runs CUDA-only
  // code: on the NPU the flipped check would send NPU tensors into CUDA kernels (F12, whisper
  // timing.py `if x.is_cuda: median_filter_cuda(x)`).
  std::optional<std::string> guarded_cuda_code(TSNode at) const {
    auto what = cuda_only_code(guarded_block(at));
    if (what.empty()) return std::nullopt;
    return "the check guards CUDA-only code (" + what +
           "): on the NPU the branch must not be taken until that code has an NPU path";
  }

  // A finding that still fails on the NPU after this run's rules: no codemod rewrites it and no
  // port recipe handles it. A CUDA-only package (py.cuda-only-import / -use) counts even when its
  // guard made it a warning: flipping that guard is what would run it on the NPU; only a package
  // whose advice names a port recipe (flash_attn, patches/advice) is handled.
  static bool stays_blocking(const Finding& g) {
    if (g.context != Context::Code || !g.codemod.empty()) return false;
    if (g.rule_id == "py.cuda-only-import" || g.rule_id == "py.cuda-only-use") {
      const auto* a = kb::shipped_advice().find(kb::cuda_only_package(g.matched));
      return !a || a->recipe.empty();
    }
    return g.severity == Severity::Blocking && g.recipe.empty();
  }

  // Class 1 of issue 12: a device check (torch.cuda.is_available(), x.is_cuda, == 'cuda') is
  // rewritten to take its branch on the NPU only where that branch is NPU-safe: when a finding
  // that stays blocking lies in it (bitsandbytes, apex, a CUDA graph kept whole, ...), the check
  // is left, with that finding as the reason, and the code keeps its non-CUDA path.
  void withhold_unsafe_guards(std::vector<Finding>& findings) const {
    for (auto& f : findings) {
      if (f.codemod.empty() || f.context != Context::Code) continue;
      TSNode body = guarded_block(ts_node_descendant_for_byte_range(root_, f.span.begin, f.span.end));
      if (ts_node_is_null(body)) continue;
      auto left = std::find_if(findings.begin(), findings.end(), [&](const Finding& g) {
        return &g != &f && g.span.begin >= ts_node_start_byte(body) && g.span.end <= ts_node_end_byte(body) &&
               stays_blocking(g);
      });
      if (left == findings.end()) continue;
      withhold(f, "the check guards code that stays blocking on the NPU (" + left->rule_id + " `" +
                      left->matched + "` on line " + std::to_string(left->span.start.line) +
                      ": no rule or recipe of this run ports it): on the NPU the branch must not be taken "
                      "until that code has an NPU path");
      if (f.severity == Severity::Blocking) f.severity = Severity::Warning;  // it keeps its non-CUDA path
    }
  }

  // bitsandbytes' Params4bit / Int8Params quantize in their .cuda() override: `.npu()` does not
  // run that hook (F16, litgpt lora.py merge).
  std::optional<std::string> quantize_on_move(TSNode at) const {
    TSNode attr = at;
    while (!ts_node_is_null(attr) && !is(attr, "attribute")) attr = ts_node_parent(attr);
    if (ts_node_is_null(attr) || text(field(attr, "attribute")) != "cuda") return std::nullopt;
    TSNode receiver = field(attr, "object");
    auto is_bnb = [](std::string_view v) {
      return v.find("Params4bit") != std::string_view::npos ||
             v.find("Int8Params") != std::string_view::npos || v.find("bnb.") != std::string_view::npos ||
             v.find("bitsandbytes") != std::string_view::npos;
    };
    bool bnb = is_bnb(text(receiver));
    if (auto it = bindings_.find(squeeze(text(receiver))); !bnb && it != bindings_.end()) {
      bnb = std::any_of(it->second.begin(), it->second.end(),
                        [&](TSNode v) { return !ts_node_is_null(v) && is_bnb(text(v)); });
    }
    if (!bnb) return std::nullopt;
    return std::string(
        "a bitsandbytes parameter (Params4bit / Int8Params): its .cuda() quantizes the weight, which .npu() "
        "does not do; decide by hand");
  }

  // torch.cuda.Stream, current_stream, stream, Event, synchronize, graph: what a capture orders.
  static bool stream_or_graph(std::string_view api) {
    if (!starts_with(api, "torch.cuda.")) return false;
    for (std::string_view w : {"tream", "Event", "synchronize", "raph"}) {
      if (api.find(w) != std::string_view::npos) return true;
    }
    return false;
  }

  struct Left {
    std::string why;
    bool blocks;  // left as is, the code still fails on the NPU (else it keeps its CUDA-only path)
  };

  std::optional<Left> cuda_only_reason(const Finding& f) const {
    if (custom_op_test_) return Left{*custom_op_test_, false};
    TSNode at = ts_node_descendant_for_byte_range(root_, f.span.begin, f.span.end);
    for (auto& [scope, graph] : graph_scopes_) {
      if (within(at, scope) && stream_or_graph(f.matched))
        return Left{"the " + std::string(is(scope, "module") ? "file" : "function") +
                        " captures a CUDA graph (" + graph +
                        "): its stream and graph code is ported together or not at all",
                    true};
    }
    if (auto why = guarded_cuda_code(at)) return Left{*why, false};
    if (f.rule_id == "py.cuda-method") {
      if (auto why = quantize_on_move(at)) return Left{*why, true};
    }
    return std::nullopt;
  }

  // `major, minor = torch.cuda.get_device_capability()`, `torch.cuda.get_device_properties(0).major`:
  // the code asks for a CUDA compute capability, which the NPU has no answer to (torch_npu's
  // get_device_capability returns None; its device properties carry no CUDA major / minor).
  std::optional<std::string> capability_read(const Finding& f) const {
    if (f.matched.rfind("torch.cuda.", 0) != 0) return std::nullopt;
    TSNode n = ts_node_descendant_for_byte_range(root_, f.span.begin, f.span.end);
    if (TSNode up = ts_node_parent(n); is(up, "attribute") && ts_node_eq(field(up, "attribute"), n)) n = up;
    while (!ts_node_is_null(n) && (is(n, "identifier") || is(n, "attribute"))) {
      TSNode p = ts_node_parent(n);
      if (!is(p, "attribute") || !ts_node_eq(field(p, "object"), n)) break;
      n = p;
    }
    TSNode call = ts_node_parent(n);
    if (!is(call, "call") || !ts_node_eq(field(call, "function"), n)) return std::nullopt;
    const std::string why =
        "the code reads a CUDA compute capability (major / minor), which the NPU does not have: decide the "
        "NPU path by hand";
    TSNode p = ts_node_parent(call);
    if (is(p, "attribute")) {
      auto a = text(field(p, "attribute"));
      if (a == "major" || a == "minor") return why;
    }
    // The rest read a capability only from the capability APIs: `torch.cuda.device_count() >
    // LOCAL_RANK` compares a count (held-out review, yolov5: its assert was left "reading a compute
    // capability").
    if (f.matched != "torch.cuda.get_device_capability" && f.matched != "torch.cuda.get_device_properties")
      return std::nullopt;
    if (is(p, "subscript")) return why;  // get_device_capability()[0]
    if (is(p, "assignment") && ts_node_eq(field(p, "right"), call)) {
      TSNode left = field(p, "left");
      if (is(left, "pattern_list") || is(left, "tuple_pattern")) return why;
      if (is(left, "identifier")) {
        auto name = std::string(text(left));
        if (src_.find(name + ".major") != std::string_view::npos ||
            src_.find(name + ".minor") != std::string_view::npos ||
            src_.find(name + "[0]") != std::string_view::npos ||
            src_.find(name + " >= (") != std::string_view::npos)
          return why;
      }
    }
    if (is(p, "comparison_operator")) return why;  // torch.cuda.get_device_capability() >= (8, 0)
    return std::nullopt;
  }

  // A value that names a member rather than requests a device: an enum member's value (renaming
  // it merges two members, accuracy finding F7), a pytest marker's argument (runs_on(["cuda"])
  // marks CUDA-only tests).
  // A keyword that declares which devices an implementation or kernel is for (`devices=("cuda",)` of
  // a registry, `device_types="cuda"` of torch.library.custom_op): the string itself or a member of
  // the tuple / list / set given. Renaming it claims the NPU for code written for CUDA, and routes
  // the NPU to it (Liger-Kernel's CuTe registration beside its own Ascend backend).
  std::optional<std::string> declared_devices(TSNode s) const {
    TSNode v = ts_node_parent(s);
    if (!ts_node_is_null(v) && (is(v, "tuple") || is(v, "list") || is(v, "set"))) v = ts_node_parent(v);
    if (ts_node_is_null(v) || !is(v, "keyword_argument")) return std::nullopt;
    static constexpr std::string_view kDeclaring[] = {"devices", "device_types", "default_devices",
                                                      "supported_devices"};
    auto name = text(field(v, "name"));
    if (std::find(std::begin(kDeclaring), std::end(kDeclaring), name) == std::end(kDeclaring))
      return std::nullopt;
    return "a declaration of the devices an implementation is for (" + std::string(name) +
           "=): renaming it claims the NPU for code written for CUDA; if it runs on the NPU, add the NPU "
           "by hand";
  }

  std::optional<std::string> definition_reason(TSNode s) const {
    if (auto declared = declared_devices(s)) return declared;
    for (TSNode a = ts_node_parent(s); !ts_node_is_null(a); a = ts_node_parent(a)) {
      // A type names the values a parameter accepts (Literal["eager", "sdpa", "flash_attention_2"]):
      // renaming one makes the type lie and leaves two equal members (accuracy finding F6).
      if (is(a, "type") || (is(a, "subscript") && text(field(a, "value")).ends_with("Literal")))
        return std::string("a type's literal: it names a value the code accepts, not one it requests");
      if (is(a, "decorator") && text(a).find("pytest.mark") != std::string_view::npos)
        return std::string("a pytest marker's argument: it says where the test runs");
      if (is(a, "function_definition") || is(a, "lambda")) return std::nullopt;
      if (!is(a, "class_definition")) continue;
      TSNode supers = field(a, "superclasses");
      if (ts_node_is_null(supers)) return std::nullopt;
      auto bases = text(supers);
      if (bases.find("Enum") != std::string_view::npos || bases.find("Literal") != std::string_view::npos)
        return std::string("an enum member's value: renaming it merges two members");
      return std::nullopt;
    }
    return std::nullopt;
  }

  // `device='cuda'` beside `dtype=torch.float64` in a file that runs a collective (all_reduce, ...):
  // HCCL rejects float64 on Atlas A2/A3 (torch_npu ProcessGroupHCCL.cpp checkSupportedDataType:
  // fp64 only on Ascend950), so moving the tensor to the NPU alone fails at the collective (the
  // held-out review: dino's utils.py:249). The dtype is the program's choice: a person decides.
  std::optional<std::string> collective_fp64_reason(TSNode s) const {
    if (!collective_) return std::nullopt;
    TSNode kw = ts_node_parent(s);
    if (!is(kw, "keyword_argument") || text(field(kw, "name")) != "device") return std::nullopt;
    TSNode args = ts_node_parent(kw);
    if (!is(args, "argument_list")) return std::nullopt;
    for (uint32_t i = 0; i < ts_node_named_child_count(args); ++i) {
      TSNode a = ts_node_named_child(args, i);
      if (!is(a, "keyword_argument") || text(field(a, "name")) != "dtype") continue;
      auto dtype = text(field(a, "value"));
      if (dtype.ends_with("float64") || dtype.ends_with("double")) {
        return std::string(
            "a float64 tensor in a file that runs a collective: HCCL rejects float64 on Atlas A2/A3 "
            "(torch_npu ProcessGroupHCCL.cpp checkSupportedDataType), so moving it to the NPU fails at "
            "the collective; use float32 there, or keep it on the CPU for a gloo group");
      }
    }
    return std::nullopt;
  }

  std::optional<std::string> file_reason() const {
    if (knows_npu_) return *knows_npu_;
    if (abstraction_) return *abstraction_;
    return std::nullopt;
  }

  // The literals a bound value may take (through parentheses, conditional arms, formatting).
  void value_literals(TSNode v, std::vector<TSNode>& out) const {
    if (is(v, "string")) {
      out.push_back(v);
    } else if (is(v, "parenthesized_expression")) {
      value_literals(ts_node_named_child(v, 0), out);
    } else if (is(v, "conditional_expression") && ts_node_named_child_count(v) == 3) {
      value_literals(ts_node_named_child(v, 0), out);
      value_literals(ts_node_named_child(v, 2), out);
    } else if (is(v, "binary_operator") && text(field(v, "operator")) == "%") {
      value_literals(field(v, "left"), out);
    } else {
      out.push_back(TSNode{});  // something else: not followed
    }
  }

  bool string_is_cuda(TSNode s) const {
    auto t = text(s);
    re2::StringPiece sp(t.data(), t.size());
    return RE2::PartialMatch(sp, cuda_literal_re()) || t.find("flash_attention_") != std::string_view::npos;
  }

  // On an NPU host, after this step, does `o` hold the literal's new value where it held the old?
  bool takes_new_value(TSNode o, const std::string& repl) const {
    auto t = squeeze(text(o));
    if (repl == "npu") {
      if (ends_with(t, ".device.type") || ends_with(t, ".device.type.lower()")) return true;
      if (starts_with(t, "torch.device(") && ends_with(t, ").type")) return true;
      if (starts_with(t, "str(") && ends_with(t, ".device)")) return true;
    }
    if (repl == "hccl") {
      static const RE2 backend(R"(.*\bget_backend\([^()]*\))");
      if (RE2::FullMatch(t, backend)) return true;
    }
    if (!is(o, "identifier") && !is(o, "attribute")) return false;
    auto it = bindings_.find(t);
    if (it == bindings_.end() || it->second.empty()) return false;
    bool some = false;
    for (TSNode v : it->second) {
      if (ts_node_is_null(v)) return false;
      std::vector<TSNode> lits;
      value_literals(v, lits);
      for (TSNode l : lits) {
        if (ts_node_is_null(l)) return false;
        auto k = kept_.find(ts_node_start_byte(l));
        if (k != kept_.end()) {
          if (k->second != repl) return false;
          some = true;
        } else if (string_is_cuda(l)) {
          return false;  // a CUDA value that stays
        }
      }
    }
    return some;
  }

  // Raise, assert, exit, or log-and-return.
  bool rejection(TSNode block) const {
    if (ts_node_is_null(block)) return false;
    bool logs = false, returns = false;
    for (uint32_t i = 0; i < ts_node_named_child_count(block); ++i) {
      TSNode st = ts_node_named_child(block, i);
      if (is(st, "raise_statement") || is(st, "assert_statement")) return true;
      if (is(st, "return_statement")) returns = true;
      if (is(st, "expression_statement") && ts_node_named_child_count(st) == 1) {
        TSNode c = ts_node_named_child(st, 0);
        if (!is(c, "call")) continue;
        auto fn = squeeze(text(field(c, "function")));
        if (fn == "sys.exit" || fn == "exit" || fn == "quit" || fn == "os._exit") return true;
        if (ends_with(fn, ".error") || ends_with(fn, ".critical") || ends_with(fn, ".fatal") ||
            ends_with(fn, ".exception") || ends_with(fn, "warn") || ends_with(fn, ".warning") ||
            fn == "print") {
          logs = true;
        }
      }
    }
    return logs && returns;
  }

  static std::string quoted_test(const std::string& t, const std::string& repl) {
    for (char q : {'\'', '"'}) {
      if (t.find(std::string(1, q) + repl) != std::string::npos) return std::string(1, q) + repl + q;
    }
    return {};
  }

  std::optional<std::string> compared_reason(const Finding& f, const Site& site) const {
    const std::string& repl = f.replacement;
    std::string use = site.what;
    if (site.use == Use::Key)
      return "a device / backend name used as " + use + ": the key looked up is not known to be '" + repl +
             "' on an NPU host";
    if (site.others.empty() || !std::all_of(site.others.begin(), site.others.end(),
                                            [&](TSNode o) { return takes_new_value(o, repl); })) {
      return "compared literal: the other operand is not known to be '" + repl + "' on an NPU host";
    }
    // The chain of tests the comparison belongs to, and the branch it guards.
    std::string tests;
    TSNode body{};
    if (!ts_node_is_null(site.case_clause)) {
      TSNode match = ts_node_parent(ts_node_parent(site.case_clause));
      each(match, [&](TSNode n) {
        if (is(n, "case_clause")) {
          for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) {
            TSNode c = ts_node_named_child(n, i);
            if (!is(c, "block")) tests += std::string(text(c)) + "\n";
          }
        }
      });
      body = field(site.case_clause, "consequence");
    } else {
      TSNode a = site.anchor;
      TSNode stmt = a;
      for (; !ts_node_is_null(a) && !is(a, "block") && !is(a, "module"); a = ts_node_parent(a)) {
        stmt = a;
        if (is(a, "elif_clause") && within(site.anchor, field(a, "condition"))) {
          tests = chain_conditions(ts_node_parent(a));
          body = field(a, "consequence");
          break;
        }
        if (is(a, "if_statement") && within(site.anchor, field(a, "condition"))) {
          tests = chain_conditions(a);
          body = field(a, "consequence");
          break;
        }
        if (is(a, "while_statement") && within(site.anchor, field(a, "condition"))) {
          tests = std::string(text(field(a, "condition")));
          break;
        }
      }
      if (tests.empty()) tests = std::string(text(stmt));
    }
    if (auto q = quoted_test(tests, repl); !q.empty())
      return "compared literal: the same tests already handle " + q + " (rewriting would shadow that branch)";
    // `x.device.type == "cuda" and torch.cuda.get_device_capability(x.device)[0] >= 8` (Liger's
    // fused_linear_jsd.py): the capability read stays CUDA (capability_read), so on the NPU the
    // rewritten test would go on to call it.
    static const RE2 capability(R"(\bcuda\.get_device_capability\b)");
    if (RE2::PartialMatch(tests, capability))
      return std::string(
          "compared literal: the same tests read torch.cuda.get_device_capability, which stays CUDA; "
          "rewritten, the NPU would go on to call it");
    if (rejection(body))
      return "compared literal guarding a rejection (raise / assert / exit): rewriting it would reject the "
             "NPU";
    return std::nullopt;
  }

  static void withhold(Finding& f, const std::string& reason) {
    f.codemod.clear();
    f.action = "not rewritten: " + reason + (f.action.empty() ? "" : "; by hand: " + f.action);
  }

  static void not_a_device(Finding& f, const std::string& reason) {
    f.codemod.clear();
    f.severity = Severity::Info;
    f.context = Context::String;
    f.action = "not rewritten: " + reason;
  }

  std::string_view src_;
  TSNode root_;
  std::optional<std::string> knows_npu_, abstraction_, build_, dsl_, custom_op_test_;
  bool collective_ = false;  // the file calls a torch.distributed collective
  std::vector<TSNode> version_checks_;
  std::vector<std::pair<TSNode, std::string>> graph_scopes_;  // a function (or module) -> its graph
  std::map<std::string, std::vector<TSNode>> bindings_;
  std::map<uint32_t, std::string> kept_;  // start byte of a rewritten value literal -> its new text
};

}  // namespace

void judge_literals(std::string_view src, std::vector<Finding>& findings) {
  if (std::none_of(findings.begin(), findings.end(),
                   [](const Finding& f) { return !f.codemod.empty() && f.context == Context::Code; })) {
    return;
  }
  auto tree = parse("python", src);
  Judge(src, ts_tree_root_node(tree.get()), findings.front().file).run(findings);
}

}  // namespace kcat::scan::py
