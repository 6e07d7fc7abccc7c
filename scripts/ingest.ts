/**
 * npm run ingest -- FILE --layer survey|cadastral|frontage|village|school|compound|green|<custom>
 * npm run ingest -- after-2020.tif --layer imagery --epoch before|after [--date 2020-10-01] [--srs EPSG:4523]
 *   [--srs EPSG:n] [--encoding gbk|utf-8] [--name SOURCE_LAYER] [--survey 2020] [--code-field 图斑编号]
 *   [--duplicates refuse|keep-first|suffix] [--width 60] [--width-field 带宽] [--role overlap|flag|assign|distance --title 基本农田 --distance 200]
 *
 * Imports one file into the configured database (embedded PGlite under data/, or DATABASE_URL), in one
 * transaction, and prints the import report. While `npm start` runs on the embedded database, the import
 * is sent to that server (scripts/ingest-handoff.ts), with the same progress, report and exit status.
 */
import { access, constants, stat } from 'node:fs/promises';
import path from 'node:path';
import { numberOption, parseCli, usageExit } from './cli-args';
import cliProgress from 'cli-progress';
import pino from 'pino';
import { loadConfig, type Config } from '../server/config';
import { openDb } from '../server/db/open';
import { migrate } from '../server/db/migrate';
import { DUPLICATE_POLICIES, importFile, type DuplicatePolicy, type ImportReport, type ImportRequest } from '../server/ingest/import';
import type { HandoffRequest } from '../server/ingest/handoff';
import { findRunningServer, sendToServer } from './ingest-handoff';
import { DataDirLocked } from '../server/db/lock';
import { CUSTOM_ROLES, type CustomRole } from '../server/ingest/layers';
import { isAppError } from '../server/errors';
import { failureText } from './ingest-failure';
import { progressLine } from '../server/progress-line';
import { importImageryFile } from '../server/imagery/upload';
import type { ImageryReport } from '../server/imagery/import';

const USAGE = `usage: npm run ingest -- FILE --layer NAME [--srs EPSG:n] [--encoding gbk|utf-8] [--name SOURCE_LAYER]
       [--survey KEY] [--code-field FIELD] [--duplicates ${DUPLICATE_POLICIES.join('|')}] [--width M] [--width-field FIELD] [--role ${CUSTOM_ROLES.join('|')}] [--title T] [--distance M] [--json]
  --layer  the tuban layer to import into (survey, cadastral, frontage, village, school, compound, green or a custom one)
  --name   which layer of a multi-layer zip to read (also --source-layer, like the API's source_layer)
       npm run ingest -- IMAGE.tif --layer imagery --epoch before|after [--date YYYY-MM-DD] [--srs EPSG:n]
  imagery: a GeoTIFF (a .tfw/.prj beside it is read too), tiled for the map; --date default: the TIFF's DateTime tag
用法：npm run ingest -- 文件 --layer 图层名 [--srs EPSG:n] [--encoding gbk|utf-8] [--name 数据层] ...
  --layer  导入到的图层；--name（或 --source-layer）选择压缩包中的哪个数据层
       npm run ingest -- 影像.tif --layer imagery --epoch before|after（前时相|后时相）[--date 年-月-日] [--srs EPSG:n]`;

function imagerySummary(r: ImageryReport): string {
  const lines = [
    `Imported imagery ${r.import_id} (${r.epoch}) / 已导入${r.epoch === 'before' ? '前' : '后'}时相影像 ${r.import_id}${r.replaced ? ` (replaces 替换 ${r.replaced})` : ''}`,
    `  file 文件: ${r.file.name} (${(r.file.bytes / 1048576).toFixed(1)} MB) · ${r.pixels.width} × ${r.pixels.height} px (${(r.pixels.total / 1e6).toFixed(1)} Mpx) · ${r.bands} ${r.bits}-bit` +
      (r.stretch ? ` · stretch 拉伸 ${r.stretch.lo.join('/')}–${r.stretch.hi.join('/')}` : ''),
    `  CRS 坐标系: ${r.crs.source} (${r.crs.how}) · georeference 地理参考: ${r.georeference} · resolution 分辨率: ${r.resolution_m} m`,
    `  extent 范围: ${r.extent.join(', ')} · date 日期: ${r.date ?? '—'}${r.date_source ? ` (${r.date_source})` : ''}`,
    `  zooms 级别: ${r.zooms.min}–${r.zooms.max} · tiles 瓦片: ${r.tiles} (${(r.bytes / 1048576).toFixed(1)} MB) · grid error 网格误差: ${r.grid_error_px} px`,
  ];
  for (const w of r.warnings) lines.push(`  warning 提示: ${w.message} / ${w.message_zh}`);
  lines.push(`  ${r.seconds}s`);
  return lines.join('\n');
}

function summary(r: ImportReport): string {
  const lines = [
    r.duplicate
      ? `This file was already imported (batch ${r.batch_id}); nothing new stored. / 该文件已导入过（批次 ${r.batch_id}），未重复存储。`
      : `Imported batch ${r.batch_id} into layer '${r.layer}'${r.survey ? ` (survey ${r.survey})` : ''} / 已导入批次 ${r.batch_id}`,
    `  file 文件: ${r.file.name} (${(r.file.bytes / 1048576).toFixed(1)} MB) · layer 数据层: ${r.source_layer}`,
    `  CRS 坐标系: ${r.crs.source} (${r.crs.how}) → ${r.crs.target} · encoding 编码: ${r.encoding.used} (${r.encoding.how})`,
    `  read 读取 ${r.read} · stored 存储 ${r.stored} · repaired 修复 ${r.repaired} · skipped 跳过 ${r.skipped.total}` +
      (r.skipped.total ? ` (${Object.entries(r.skipped.reasons).map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''),
  ];
  // every skipped record by reason, with a few record numbers: nothing lost without a word (issue 11)
  for (const [reason, n] of Object.entries(r.skipped.reasons)) {
    const ex = r.skipped.examples.filter((e) => e.reason === reason).map((e) => `#${e.record}${e.code ? ` ${e.code}` : ''}`);
    lines.push(`    skipped 跳过 ${reason}: ${n}${ex.length ? ` — records 记录 ${ex.join(', ')}${ex.length < n ? ' …' : ''}` : ''}`);
  }
  if (r.survey_key) lines.push(`  survey key 监测批次: ${r.survey_key.value} (from 来源 ${r.survey_key.source}${r.survey_key.field ? ` ${r.survey_key.field}` : ''})`);
  if (r.code) {
    const c = r.code;
    lines.push(`  code field 编号字段: ${c.field ?? '(generated 生成)'} (${c.source})` +
      (c.generated ? ` · generated 生成 ${c.generated}` : '') +
      (c.duplicates.exact_records ? ` · exact duplicate records 完全重复记录 ${c.duplicates.exact_records}` : '') +
      (c.duplicates.values ? ` · duplicated codes 重复编号 ${c.duplicates.values} (${c.duplicates.action})` : '') +
      (c.matched_by_overlap ? ` · matched by overlap 按重叠匹配 ${c.matched_by_overlap}` : ''));
  }
  if (r.band) lines.push(`  band width 带宽: ${r.band.source === 'field' ? `field 字段 ${r.band.field}` : `${r.band.width_m} m (--width)`}`);
  if (r.survey_changes) {
    const c = r.survey_changes;
    lines.push(`  survey 图斑: new 新增 ${c.new} · updated 更新 ${c.updated} · geometry changed 图形变化 ${c.geometry_changed} · removed 移除 ${c.removed}`);
  }
  if (r.reconcile) {
    const c = r.reconcile.changes;
    lines.push(`  reconciled 比对 ${r.reconcile.polygons} polygons in ${r.reconcile.seconds}s · changed 变化: village ${c.village}, flags ${c.flags}, parcels ${c.parcels}`);
  }
  if (r.demo_accounts_disabled?.length) {
    lines.push(`  real data imported: demo accounts disabled 已导入真实数据，演示账号已停用: ${r.demo_accounts_disabled.join(', ')}`);
  }
  for (const w of r.warnings) lines.push(`  warning 提示: ${w.message} / ${w.message_zh}`);
  lines.push(`  ${r.seconds}s`);
  return lines.join('\n');
}

async function main() {
  // strict: an unknown or misspelt option (--layr) prints the usage and exits 2 (cli-args.ts)
  const { values, positionals } = parseCli({
    allowPositionals: true,
    options: {
      layer: { type: 'string' }, srs: { type: 'string' }, encoding: { type: 'string' }, name: { type: 'string' },
      'source-layer': { type: 'string' },
      survey: { type: 'string' }, 'code-field': { type: 'string' }, duplicates: { type: 'string' },
      width: { type: 'string' }, 'width-field': { type: 'string' }, role: { type: 'string' },
      title: { type: 'string' }, distance: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      epoch: { type: 'string' }, date: { type: 'string' },
    },
  }, USAGE);
  if (values.help) usageExit(USAGE);
  if (positionals.length !== 1) usageExit(USAGE, positionals.length ? `one FILE, not ${positionals.length} / 只能指定一个文件` : 'FILE is missing / 缺少文件');
  if (!values.layer) usageExit(USAGE, '--layer is required / 必须指定 --layer');
  if (values.role && !(CUSTOM_ROLES as readonly string[]).includes(values.role))
    usageExit(USAGE, `--role must be one of ${CUSTOM_ROLES.join(', ')} / --role 只能是 ${CUSTOM_ROLES.join('、')}`);
  if (values.name !== undefined && values['source-layer'] !== undefined && values.name !== values['source-layer'])
    usageExit(USAGE, '--name and --source-layer name the same thing; give one / --name 与 --source-layer 含义相同，请只给一个');
  if (values.duplicates && !(DUPLICATE_POLICIES as readonly string[]).includes(values.duplicates))
    usageExit(USAGE, `--duplicates must be one of ${DUPLICATE_POLICIES.join(', ')} / --duplicates 只能是 ${DUPLICATE_POLICIES.join('、')}`);
  if (values.layer === 'imagery' && values.epoch !== 'before' && values.epoch !== 'after')
    usageExit(USAGE, '--layer imagery needs --epoch before or after / 导入影像须指定 --epoch before（前时相）或 after（后时相）');
  if (values.layer !== 'imagery' && (values.epoch || values.date))
    usageExit(USAGE, '--epoch and --date are for --layer imagery / --epoch 与 --date 仅用于 --layer imagery');
  const widthM = numberOption('width', values.width, USAGE);
  const distanceM = numberOption('distance', values.distance, USAGE);
  const file = positionals[0];
  const config = loadConfig();
  const log = pino({ level: 'warn' });
  // the importer reads the file from disk itself (bounded memory, issue 11 item 6): only check it is a readable file
  const exists = await stat(file).then((st) => st.isFile(), () => false);
  const readable = exists && (await access(file, constants.R_OK).then(() => true, () => false));
  if (!readable) usageExit(USAGE, `cannot read ${file} / 无法读取文件 ${file}`);
  const bar = new cliProgress.SingleBar(
    { format: '  {phase} [{bar}] {value}/{total}', hideCursor: true, clearOnComplete: true, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const onProgress: NonNullable<ImportRequest['onProgress']> = (p) => {
    const label = { read: 'reading 读取', stage: 'preparing 准备', store: 'storing 存储', reconcile: 'reconciling 比对', done: 'done 完成' }[p.phase];
    if (!started) { bar.start(p.total, p.done, { phase: label }); started = true; }
    bar.setTotal(p.total);
    bar.update(p.done, { phase: label });
  };
  const settings: CliImport = {
    file, layer: values.layer, srs: values.srs?.toUpperCase(), encoding: values.encoding,
    sourceLayer: values.name ?? values['source-layer'], survey: values.survey, codeField: values['code-field'],
    duplicates: values.duplicates as DuplicatePolicy | undefined, widthM, widthField: values['width-field'],
    role: values.role as CustomRole | undefined, title: values.title, distanceM, user: process.env.USER ?? 'cli',
    epoch: values.epoch, date: values.date,
  };
  // A server running on the embedded database holds it alone (db/lock.ts): the import goes to it, with the
  // same progress and report (issue 11 item 7). A server still starting is waited for.
  const waiting = progressLine(process.stderr);
  const server = config.databaseUrl ? undefined : await findRunningServer(config.pgliteDir, {
    waitS: 600,
    onWait: (pid, s) => waiting.update(`  waiting for the tuban server (process ${pid}) to finish starting… ${s}s / 等待 tuban 服务（进程号 ${pid}）启动完成… ${s} 秒`, s),
  });
  waiting.done();
  try {
    const report = server
      ? await sendToServer(server, handoffRequest(settings), onProgress)
      : await importLocally(config, settings, onProgress).catch(async (e: unknown) => {
          // a server that took the database between our look and our open: hand the import to it after all
          if (!(e instanceof DataDirLocked) || e.owner.role !== 'server') throw e;
          const late = await findRunningServer(config.pgliteDir, { waitS: 600 });
          if (!late) throw e;
          return sendToServer(late, handoffRequest(settings), onProgress);
        });
    bar.stop();
    const text = report.layer === 'imagery' ? imagerySummary(report as ImageryReport) : summary(report as ImportReport);
    process.stdout.write((values.json ? JSON.stringify(report, null, 2) : text) + '\n');
  } catch (e) {
    bar.stop();
    if (isAppError(e) && e.code !== 'data_dir_locked') {
      process.stderr.write(`\nImport refused / 导入被拒绝 [${e.code}]\n  ${e.message}\n  ${e.message_zh}\n`);
      if (e.details) process.stderr.write(`  ${JSON.stringify(e.details)}\n`);
      process.exitCode = 1;
    } else throw e;
  } finally {
    log.flush();
  }
}

type CliImport = Omit<ImportRequest, 'bytes' | 'path' | 'fileName' | 'onProgress'> & { file: string; epoch?: string; date?: string };

/** The import sent to a running server (server/ingest/handoff.ts HandoffRequest: the API's field names). */
function handoffRequest(s: CliImport): HandoffRequest {
  return {
    path: path.resolve(s.file), layer: s.layer, srs: s.srs, encoding: s.encoding, source_layer: s.sourceLayer,
    survey: s.survey, code_field: s.codeField, duplicates: s.duplicates, width: s.widthM, width_field: s.widthField,
    role: s.role, title: s.title, distance: s.distanceM, user: s.user,
    epoch: s.epoch as HandoffRequest['epoch'], date: s.date,
  };
}

/** No server running: this process opens the database (refused, naming the holder, if another import has it). */
async function importLocally(config: Config, s: CliImport, onProgress: NonNullable<ImportRequest['onProgress']>): Promise<ImportReport | ImageryReport> {
  const opening = progressLine(process.stderr);
  const db = await openDb({
    databaseUrl: config.databaseUrl,
    pgliteDir: config.pgliteDir,
    role: 'ingest', // another process holding the embedded database: refused, naming its pid (db/lock.ts)
    onWait: (sec) => opening.update(`  opening the embedded database… ${sec}s / 正在打开嵌入式数据库… ${sec} 秒`, sec),
  });
  opening.done();
  try {
    await migrate(db, { workSrid: config.workSrid });
    if (s.layer === 'imagery') {
      return await importImageryFile(db, config, {
        path: s.file, fileName: path.basename(s.file), epoch: s.epoch ?? '', date: s.date, srs: s.srs, user: s.user, beside: true,
        onProgress: (p) => onProgress({ phase: p.phase === 'read' || p.phase === 'done' ? p.phase : 'store', done: p.done, total: p.total }),
      });
    }
    const { file, epoch: _e, date: _d, ...req } = s;
    return await importFile(db, config, { ...req, path: file, fileName: path.basename(file), onProgress });
  } finally {
    await db.close();
  }
}

main().catch((e) => {
  // a refusal before the import starts (the embedded database held by another process: db/lock.ts) is a
  // message, not a stack trace
  process.stderr.write(failureText(e));
  // the stack is for whoever debugs tuban, not for the person importing (LOG_LEVEL=debug shows it)
  if (process.env.LOG_LEVEL === 'debug' && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
