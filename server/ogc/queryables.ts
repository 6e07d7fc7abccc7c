/**
 * The property filters of each kind of collection (issue 14 item 5): the fields people filter by, as query
 * parameters named after the feature property they filter (Part 1 /rec/core/fc-filters), declared in
 * `/collections/{id}/queryables` (a JSON Schema) and in the OGC OpenAPI document. Any other query
 * parameter of an items request is refused with a 400 (/rec/core/query-param-unknown), so a mistyped
 * filter never silently returns everything.
 */
import { z } from 'zod';
import type { RowsKind } from '../tiles/queries';
import { POLYGON_STATUSES } from '../polygons/repo';

const list = z.string().max(2000).transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

export interface Queryable {
  /** JSON Schema of one value (the queryables document; a comma-separated list where `list`) */
  schema: Record<string, unknown>;
  title: string;
  description?: string;
  /** the parameter's parser */
  parse: z.ZodType;
}

export const QUERYABLES: Record<RowsKind, Record<string, Queryable>> = {
  survey: {
    village: {
      title: '村（社区） / village', schema: { type: 'string' }, description: 'comma-separated village names; - = outside every village',
      parse: list.pipe(z.array(z.string().max(60)).min(1)),
    },
    status: {
      title: '状态 / status', schema: { type: 'string', enum: [...POLYGON_STATUSES] }, description: 'comma-separated statuses',
      parse: list.pipe(z.array(z.enum(POLYGON_STATUSES)).min(1)),
    },
    flags: {
      title: '标记 / flags', schema: { type: 'string' }, description: 'comma-separated flags the polygon carries, every one (frontage, compound, green, school, no_village, …)',
      parse: list.pipe(z.array(z.string().regex(/^[a-z][a-z0-9_]{0,39}$/)).min(1)),
    },
    batch_id: {
      title: '导入批次 / import batch', schema: { type: 'integer', minimum: 1 }, description: 'the import batch that last delivered the polygon',
      parse: z.string().regex(/^\d{1,9}$/, 'batch_id: a positive integer').transform(Number).pipe(z.number().int().min(1).max(2_147_483_647)),
    },
    survey: {
      title: '监测批次 / survey', schema: { type: 'string' }, description: 'the survey (delivery) key, e.g. 2020',
      parse: z.string().min(1).max(40),
    },
  },
  parcels: {
    land_use: { title: '土地用途 / land use', schema: { type: 'string' }, parse: z.string().min(1).max(100) },
    parcel_code: { title: '宗地代码 / parcel code', schema: { type: 'string' }, parse: z.string().min(1).max(100) },
  },
  features: {
    name: { title: '名称 / name', schema: { type: 'string' }, parse: z.string().min(1).max(200) },
    code: { title: '代码 / code', schema: { type: 'string' }, parse: z.string().min(1).max(100) },
  },
};

/** The queryables document of a collection (JSON Schema, as OGC API – Features Part 3 lays it out). */
export function queryablesDoc(kind: RowsKind, href: string, title: string) {
  const properties: Record<string, unknown> = {};
  for (const [name, q] of Object.entries(QUERYABLES[kind])) {
    properties[name] = { title: q.title, ...(q.description ? { description: q.description } : {}), ...q.schema };
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: href,
    type: 'object',
    title,
    properties,
    additionalProperties: false,
  };
}
