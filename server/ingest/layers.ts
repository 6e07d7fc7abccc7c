import type { Queryable } from '../db/types';
import { IngestError } from '../errors';
import type { LayerRow } from '../reconcile/reconcile';

export const CUSTOM_ROLES = ['overlap', 'flag', 'assign', 'distance'] as const;
export type CustomRole = (typeof CUSTOM_ROLES)[number];

export interface LayerDeclaration {
  name: string;
  role?: CustomRole;
  title?: string;
  distanceM?: number;
}

/**
 * The layer an import goes to. Built-in layers exist already; a custom layer is declared on its first
 * import with a role, and later imports must not contradict it.
 */
export async function resolveLayer(
  q: Queryable,
  d: LayerDeclaration,
  { create }: { create: boolean },
): Promise<LayerRow & { builtin: boolean }> {
  if (!/^[a-z][a-z0-9_]{0,39}$/.test(d.name)) {
    throw new IngestError('bad_layer_name',
      `Layer name '${d.name}' must be lower-case letters, digits or _ (start with a letter, at most 40)`,
      `图层名“${d.name}”只能由小写字母、数字和下划线组成（以字母开头，最多 40 个字符）`);
  }
  const found = await q.query<LayerRow & { builtin: boolean }>(
    'SELECT id, name, role, distance_m, builtin FROM layer WHERE name = $1', [d.name]);
  const existing = found.rows[0];
  if (existing) {
    if (d.role && existing.role !== d.role) {
      throw new IngestError('layer_role_conflict',
        `Layer '${d.name}' already has role '${existing.role}', not '${d.role}'`,
        `图层“${d.name}”的作用已定义为“${existing.role}”，不能改为“${d.role}”`, { role: existing.role });
    }
    return existing;
  }
  if (!d.role) {
    throw new IngestError('layer_role_required',
      `'${d.name}' is a new custom layer: say what it does in reconciliation with --role overlap|flag|assign|distance`,
      `“${d.name}”是新的自定义图层：请用 --role overlap|flag|assign|distance 指定其在比对中的作用`,
      { roles: CUSTOM_ROLES });
  }
  if (d.role === 'distance' && !(d.distanceM !== undefined && d.distanceM >= 0)) {
    throw new IngestError('layer_distance_required',
      `A distance layer needs a threshold in metres (--distance 200)`,
      `距离类图层需要指定阈值（米），例如 --distance 200`);
  }
  if (!create) return { id: -1, name: d.name, role: d.role, distance_m: d.distanceM ?? null, builtin: false };
  const created = await q.query<LayerRow & { builtin: boolean }>(
    `INSERT INTO layer (name, builtin, role, title_zh, title_en, distance_m) VALUES ($1, false, $2, $3, $3, $4)
     RETURNING id, name, role, distance_m, builtin`,
    [d.name, d.role, d.title ?? d.name, d.role === 'distance' ? d.distanceM : null]);
  return created.rows[0];
}
