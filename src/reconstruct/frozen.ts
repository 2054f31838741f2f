/**
 * The product's frozen-ground policy (`reconstruct --frozen fill|mask`): SMAP retrieves no soil
 * moisture on frozen or snow-covered ground, and a model trained on thawed days has never seen
 * what such a day's value is, so a frozen day's value is never presented as an ordinary
 * reconstruction.
 *
 *   fill (default)  the model's value, flagged reconstructed_frozen (7), with its own, wider
 *                   uncertainty (models/uncertainty.ts: the climatological spread added); the
 *                   product stays gap-free, as ESA CCI SM GAPFILLED fills frozen periods
 *   mask            no value (NaN) and no uncertainty, flagged not_filled_frozen (9): what SMAP
 *                   L3 and the standard ESA CCI SM products do, for users who want no value on
 *                   frozen days
 *
 * Which days are frozen: the cube's soil_moisture_missing_reason (cube/missing-reasons.ts
 * isFrozenGap: SMAP's frozen-ground or snow cause, or a temperature predictor below 0 degC via
 * smap.frozen_from). A cube without that variable has no frozen days. Why fill is the default:
 * docs/product.md#frozen-ground.
 */
import { isFrozenGap } from "../cube/missing-reasons.js";
import { FROZEN_METHOD, type ResidualModelState } from "../models/uncertainty.js";

export const FROZEN_POLICIES = ["fill", "mask"] as const;
export type FrozenPolicy = (typeof FROZEN_POLICIES)[number];
export const DEFAULT_FROZEN_POLICY: FrozenPolicy = "fill";

/** 1 where a pixel-day's missing reason is frozen (all 0 without reasons). */
export function frozenDays(reasons: Uint8Array | undefined, n: number): Uint8Array {
  const out = new Uint8Array(n);
  if (reasons) for (let k = 0; k < n; k++) if (isFrozenGap(reasons[k]!)) out[k] = 1;
  return out;
}

/** The product's attributes that say what it did on frozen days and how their sigma was set. */
export function frozenAttributes(policy: FrozenPolicy, residual: ResidualModelState): Record<string, string> {
  return {
    frozen_policy: policy,
    frozen_policy_comment:
      policy === "fill"
        ? "frozen or snow-covered days (soil_moisture_missing_reason) are filled by the model and flagged reconstructed_frozen; no retrieval exists there to validate them"
        : "frozen or snow-covered days (soil_moisture_missing_reason) have no value, flagged not_filled_frozen",
    ...(policy === "fill"
      ? {
          frozen_uncertainty_method:
            residual.version === 2
              ? (residual.frozen?.method ?? FROZEN_METHOD)
              : "the model's residual quantiles, as on other gaps (a model calibrated before frozen days had their own)",
        }
      : {}),
  };
}
