import { z } from 'zod';
import type { AppContext } from '../context';
import { router } from '../http/canonical-path';
import { route } from '../http/openapi';
import { villageScope } from '../auth/guard';
import { inTx } from '../review/tx';
import {
  lackingProof, listRequirements, PROOF_KINDS, PROOF_LABELS, PROOF_SUBJECTS, replaceRequirements, RequirementsBody,
} from '../review/proof';

const ALL = ['admin', 'analyst', 'reviewer', 'field'] as const;
const DASHBOARD = ['admin', 'analyst', 'reviewer'] as const;
const Label = z.object({ zh: z.string(), en: z.string() });
const Requirement = z.object({
  subject: z.enum(PROOF_SUBJECTS).describe('dismiss: a dismissal reason | case: a case outcome'),
  outcome: z.string(), proof: z.enum(PROOF_KINDS), enforced: z.boolean().describe('true: refused without it; false: accepted, counted as lacking'),
  updated_at: z.iso.datetime(), updated_by_name: z.string().nullable(), outcome_label: Label, proof_label: Label,
});
const RequirementsOut = z.object({
  items: z.array(Requirement),
  proofs: z.array(z.object({ code: z.enum(PROOF_KINDS), label: Label })),
});

/** Proof per outcome (issue 13 item 18): the requirements, their admin, and how many outcomes lack their proof. */
export function proofRoutes(ctx: AppContext) {
  const r = router();
  const out = async () => ({
    items: await listRequirements(ctx.db), proofs: PROOF_KINDS.map((code) => ({ code, label: PROOF_LABELS[code] })),
  });

  route(r, {
    method: 'get', path: '/api/proof-requirements', tags: ['review'], roles: ALL,
    summary: 'The evidence each dismissal reason and case outcome needs', summary_zh: '各排除原因、结案结果所需的证明材料',
    response: RequirementsOut,
  }, async (_req, res) => {
    res.json(await out());
  });

  route(r, {
    method: 'put', path: '/api/admin/proof-requirements', tags: ['admin'], roles: ['admin'],
    summary: 'Replace the proof requirements (the whole set, one transaction)', summary_zh: '修改证明材料要求（整体替换）',
    description: 'proof: permit_ref (the permit reference), photo_after (a photo taken on or after the demolition date), field_photo (a field photo). ' +
      'enforced: a decision or closing without the proof is refused (422 proof_missing); otherwise accepted and counted as lacking.',
    body: RequirementsBody, response: RequirementsOut,
  }, async (req, res) => {
    const b = RequirementsBody.parse(req.body ?? {});
    await inTx(ctx.db, (q) => replaceRequirements(q, b.items, req.principal!.username));
    req.log?.info({ requirements: b.items.length }, 'proof requirements changed');
    res.json(await out());
  });

  const ByRequirement = z.object({
    subject: z.enum(PROOF_SUBJECTS), outcome: z.string(), proof: z.enum(PROOF_KINDS), outcomes: z.number().int(), lacking: z.number().int(),
    outcome_label: Label, proof_label: Label,
  });
  route(r, {
    method: 'get', path: '/api/proof/lacking', tags: ['dashboard'], roles: DASHBOARD,
    summary: 'How many outcomes (dismissed polygons, closed cases) lack the proof their reason or outcome needs',
    summary_zh: '缺少证明材料的处理结果数（已排除图斑、已结案案件）',
    response: z.object({
      lacking: z.number().int().describe('outcomes lacking at least one proof'),
      polygons: z.object({ lacking: z.number().int(), ids: z.array(z.number().int()).describe('up to 200') }),
      cases: z.object({ lacking: z.number().int(), ids: z.array(z.number().int()).describe('up to 200') }),
      by_requirement: z.array(ByRequirement),
    }),
  }, async (req, res) => {
    res.json(await lackingProof(ctx.db, ctx.config.regionCode, villageScope(req)));
  });
  return r;
}
