/**
 * The training mask of a cube window: one role per pixel-day, day-major like the cube
 * ([t * P + p]): -1 = not observed, 0 = training, 1 = validation, 2 = test. Features see only
 * role 0; evaluation splits (eval/splits.ts) and reconstruction decide the roles.
 */
export type Roles = Int8Array;

/** -1 where the observation is missing, 0 elsewhere. */
export function observedRoles(smap: Float32Array): Roles {
  return Int8Array.from(smap, (v) => (Number.isNaN(v) ? -1 : 0));
}

export function roleCounts(roles: Roles): { train: number; validation: number; test: number; unobserved: number } {
  const c = { train: 0, validation: 0, test: 0, unobserved: 0 };
  for (const r of roles) {
    if (r === 0) c.train++;
    else if (r === 1) c.validation++;
    else if (r === 2) c.test++;
    else c.unobserved++;
  }
  return c;
}
