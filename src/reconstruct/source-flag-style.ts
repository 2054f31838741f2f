/**
 * How the source flags look wherever they are drawn (the COG's colour table, the viewer, the
 * report): one colour and one readable label per flag value. Blues for SMAP's own values, orange
 * for the model's, violet for frozen days (filled or masked), red for days the product could not
 * fill, grey outside land.
 */
import { SOURCE_FLAGS } from "./reconstruct.js";

type FlagName = keyof typeof SOURCE_FLAGS;

const STYLE: Record<FlagName, { color: string; label: string }> = {
  observed_am: { color: "#1f5fbf", label: "SMAP, morning pass" },
  observed_pm: { color: "#3d9be9", label: "SMAP, evening pass" },
  observed_am_pm_mean: { color: "#7cc6f2", label: "SMAP, mean of both passes" },
  reconstructed: { color: "#e07b00", label: "reconstructed by the model" },
  not_filled_missing_predictors: { color: "#b23a48", label: "not filled: predictors missing" },
  not_filled_outside_land: { color: "#d9d9d9", label: "not filled: outside land" },
  reconstructed_frozen: { color: "#8e5cc7", label: "reconstructed, frozen ground or snow" },
  not_filled_frozen: { color: "#c9b3e6", label: "not filled: frozen ground or snow" },
  reconstructed_without_dynamic_predictors: { color: "#f5c16c", label: "reconstructed without dynamic predictors" },
};

/** Every flag: value, CF meaning, colour and label, in value order. */
export const SOURCE_FLAG_STYLE = (Object.entries(SOURCE_FLAGS) as [FlagName, number][])
  .sort((a, b) => a[1] - b[1])
  .map(([name, value]) => ({ value, name, ...STYLE[name] }));

/** value -> colour, for colour tables. */
export const SOURCE_FLAG_COLORS: Record<number, string> = Object.fromEntries(SOURCE_FLAG_STYLE.map((f) => [f.value, f.color]));
