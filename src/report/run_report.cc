#include "kcat/report/run_report.h"
#include "kcat/core/json.h"

namespace kcat::report {

RunReport::Totals RunReport::totals() const {
  Totals t;
  for (auto& s : sites) {
    if (s.status == "suppressed") {
      ++t.suppressed;
      continue;
    }
    ++t.found;
    if (s.status == "note") {
      ++t.notes;
      continue;
    }
    if (s.status == "fixed") {
      if (s.how == "llm")
        ++t.fixed_by_llm;
      else if (s.how.rfind("shim:", 0) == 0)
        ++t.covered_by_shim;
      else if (s.how.rfind("recipe:", 0) == 0)
        ++t.fixed_by_recipe;
      else
        ++t.fixed_by_codemod;
      continue;
    }
    if (s.finding.severity == Severity::Blocking) ++t.blocking_left;
    if (s.how == "llm")
      ++t.left_for_llm;
    else if (s.how.rfind("recipe:", 0) == 0)
      ++t.left_for_recipe;
    else
      ++t.left_for_person;
  }
  return t;
}

void to_json(nlohmann::json& j, const RunReport& r) {
  auto t = r.totals();
  j = nlohmann::json{{"schema", "kcat-report/1"},
                     {"run_id", r.run_id},
                     {"repo", r.repo},
                     {"target", r.target},
                     {"branch", r.branch},
                     {"base_commit", r.base_commit},
                     {"started", r.started},
                     {"finished", r.finished},
                     {"outcome", r.outcome},
                     {"totals",
                      {{"found", t.found},
                       {"fixed_by_codemod", t.fixed_by_codemod},
                       {"fixed_by_recipe", t.fixed_by_recipe},
                       {"fixed_by_llm", t.fixed_by_llm},
                       {"covered_by_shim", t.covered_by_shim},
                       {"left_for_recipe", t.left_for_recipe},
                       {"left_for_llm", t.left_for_llm},
                       {"left_for_person", t.left_for_person},
                       {"blocking_left", t.blocking_left},
                       {"notes", t.notes},
                       {"suppressed", t.suppressed}}}};
  if (!r.config.empty()) j["config"] = r.config;
  auto& sites = j["sites"] = nlohmann::json::array();
  for (auto& s : r.sites) {
    sites.push_back({{"finding", s.finding},
                     {"status", s.status},
                     {"how", s.how},
                     {"step", s.step},
                     {"commit", s.commit}});
  }
  auto& steps = j["steps"] = nlohmann::json::array();
  for (auto& s : r.steps) {
    steps.push_back({{"id", s.id},
                     {"title", s.title},
                     {"action", s.action},
                     {"status", s.status},
                     {"reason", s.reason},
                     {"commit", s.commit},
                     {"diff", s.diff},
                     {"checks", s.checks},
                     {"failed_checks", s.failed_checks}});
  }
  if (!r.fallbacks.empty()) {
    auto& fb = j["fallbacks"] = nlohmann::json::array();
    for (auto& f : r.fallbacks) {
      fb.push_back({{"entry", f.entry},
                    {"file", f.file},
                    {"line", f.line},
                    {"reference", f.reference},
                    {"reference_file", f.reference_file},
                    {"kernels", f.kernels},
                    {"why", f.why},
                    {"unsupported", f.unsupported},
                    {"status", f.status},
                    {"reason", f.reason}});
    }
  }
  auto& opt = j["optimize"] = {{"unit", r.metric_unit}, {"iterations", nlohmann::json::array()}};
  if (r.baseline) opt["baseline"] = *r.baseline;
  if (r.target_metric) opt["target"] = *r.target_metric;
  for (auto& it : r.iterations) {
    opt["iterations"].push_back({{"n", it.n},
                                 {"change", it.change},
                                 {"metric", it.metric},
                                 {"cv", it.cv},
                                 {"runs", it.runs},
                                 {"kept", it.kept},
                                 {"reason", it.reason},
                                 {"commit", it.commit}});
  }
}

void from_json(const nlohmann::json& j, RunReport& r) {
  r.run_id = j.value("run_id", "");
  r.repo = j.value("repo", "");
  r.target = j.value("target", "");
  r.branch = j.value("branch", "");
  r.base_commit = j.value("base_commit", "");
  r.config = j.value("config", "");
  r.started = j.value("started", "");
  r.finished = j.value("finished", "");
  r.outcome = j.value("outcome", "");
  for (auto& s : j.value("sites", nlohmann::json::array())) {
    Site site;
    site.finding = s.at("finding").get<Finding>();
    site.status = s.value("status", "");
    site.how = s.value("how", "");
    site.step = s.value("step", "");
    site.commit = s.value("commit", "");
    r.sites.push_back(std::move(site));
  }
  for (auto& s : j.value("steps", nlohmann::json::array())) {
    StepRecord st;
    st.id = s.value("id", "");
    st.title = s.value("title", "");
    st.action = s.value("action", "");
    st.status = s.value("status", "");
    st.reason = s.value("reason", "");
    st.commit = s.value("commit", "");
    st.diff = s.value("diff", "");
    st.checks = s.value("checks", std::vector<std::string>{});
    st.failed_checks = s.value("failed_checks", std::vector<std::string>{});
    r.steps.push_back(std::move(st));
  }
  for (auto& f : j.value("fallbacks", nlohmann::json::array())) {
    Fallback x;
    x.entry = f.value("entry", "");
    x.file = f.value("file", "");
    x.line = f.value("line", 0);
    x.reference = f.value("reference", "");
    x.reference_file = f.value("reference_file", "");
    x.kernels = f.value("kernels", std::vector<std::string>{});
    x.why = f.value("why", std::vector<std::string>{});
    x.unsupported = f.value("unsupported", std::vector<std::string>{});
    x.status = f.value("status", "");
    x.reason = f.value("reason", "");
    r.fallbacks.push_back(std::move(x));
  }
  if (auto it = j.find("optimize"); it != j.end()) {
    auto& o = *it;
    r.metric_unit = o.value("unit", "");
    if (o.contains("baseline")) r.baseline = o["baseline"].get<double>();
    if (o.contains("target")) r.target_metric = o["target"].get<double>();
    for (auto& i : o.value("iterations", nlohmann::json::array())) {
      Iteration x;
      x.n = i.value("n", 0);
      x.change = i.value("change", "");
      x.metric = i.value("metric", 0.0);
      x.cv = i.value("cv", 0.0);
      x.runs = i.value("runs", 0);
      x.kept = i.value("kept", false);
      x.reason = i.value("reason", "");
      x.commit = i.value("commit", "");
      r.iterations.push_back(std::move(x));
    }
  }
}

std::string render_json(const RunReport& r) {
  nlohmann::json j = r;
  return json_text(j, 2) + "\n";
}

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // XML 1.0 forbids most control characters; drop them rather than emit invalid XML.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\r' && c != '\t') continue;
        out += c;
    }
  }
  return out;
}

}  // namespace kcat::report
