/**
 * The role of every pixel-day of a cube window, day-major like the cube ([t * P + p]): what a
 * run does with it. The features of the rows a model is fitted and calibrated on see the
 * training values only; the split designs (eval/splits.ts) and the product model
 * (reconstruct/product-model.ts) decide the roles, the row draw (row-draw.ts) reads them.
 *
 *   Unobserved   SMAP has no value there (the gaps a product fills)
 *   Train        fits the model; the only values the features of fitted rows see
 *   Validation   hidden gaps for early stopping and the choice of weights
 *   Calibration  hidden gaps on which the uncertainty's residual model is fitted
 *   Test         hidden values an evaluation scores (gaps, a later period, stations)
 */
export const Role = { Unobserved: -1, Train: 0, Validation: 1, Calibration: 2, Test: 3 } as const;
export type Role = (typeof Role)[keyof typeof Role];
export const ROLE_NAMES = ["train", "validation", "calibration", "test"] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

/** The held-out roles (everything observed that does not train). */
export const HELD_ROLES = [Role.Validation, Role.Calibration, Role.Test] as const;
export type HeldRole = (typeof HELD_ROLES)[number];

/** One role per pixel-day (Role values). */
export type Roles = Int8Array;

/** Unobserved where the observation is missing, Train elsewhere. */
export function observedRoles(smap: Float32Array): Roles {
  // A loop, not Int8Array.from(smap, f): that collects every value in a list first (gigabytes
  // for a continent's year).
  const roles = new Int8Array(smap.length);
  for (let k = 0; k < smap.length; k++) roles[k] = Number.isNaN(smap[k]!) ? Role.Unobserved : Role.Train;
  return roles;
}

/** True for a role that holds an observation (any role but Unobserved). */
export function isObserved(role: number): boolean {
  return role >= Role.Train;
}

export function roleCounts(roles: Roles): Record<RoleName, number> & { unobserved: number } {
  const c = { train: 0, validation: 0, calibration: 0, test: 0, unobserved: 0 };
  for (const r of roles) {
    if (r === Role.Train) c.train++;
    else if (r === Role.Validation) c.validation++;
    else if (r === Role.Calibration) c.calibration++;
    else if (r === Role.Test) c.test++;
    else c.unobserved++;
  }
  return c;
}

/**
 * The roles as a shipped product sees the data: every observation but the test values trains
 * the features (an evaluation's test rows are built as reconstruction builds the rows it fills,
 * from a cube whose test values are hidden).
 */
export function shipView(roles: Roles): Roles {
  return Int8Array.from(roles, (r) => (r === Role.Test || r === Role.Unobserved ? r : Role.Train));
}
