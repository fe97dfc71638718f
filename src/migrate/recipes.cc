// port recipes: the plan's next recipe step (kind = "port") whose recipe applies to this code,
// and its patch.
#include <fmt/format.h>

#include "kcat/migrate/phases.h"
#include "kcat/optimize/optimize.h"

namespace kcat::migrate {

std::optional<RecipeChoice> next_port_recipe(const plan::Plan& plan, const std::set<std::string>& attempted,
                                             const kb::RecipeSet& recipes, const std::filesystem::path& root,
                                             const std::vector<Finding>& findings) {
  for (auto& s : plan.steps) {
    if (s.action != plan::Action::Recipe || attempted.count(step_key(s))) continue;
    const auto* found = recipes.find(s.recipe);
    // a recipe with an outcome changes no code: the plan routes its sites (plan::routed)
    if (found && found->kind == "port" && found->outcome.empty() &&
        optimize::why_not_applicable(*found, root, findings).empty()) {
      return RecipeChoice{&s, found};
    }
  }
  return std::nullopt;
}

StepWork recipe_work(const RecipeChoice& c, const std::filesystem::path& root,
                     const std::vector<Finding>& findings, const std::string& target) {
  const auto& recipe = *c.recipe;
  StepWork w{step_key(*c.step),
             c.step->id,
             recipe.title,
             optimize::recipe_patch(recipe, root, findings),
             c.step->findings,
             recipe.id,
             {}};
  w.patch.message = fmt::format("kcat: {} for {}\n\n{}\n\nRecipe: {} (patches/recipes)\nSource: {}\n",
                                recipe.title, target, recipe.description, recipe.id, recipe.source);
  return w;
}

}  // namespace kcat::migrate
