import path from 'node:path';
import { buildWeb, isWebBuildFresh, WEB_OUT } from '../../scripts/build-web-if-needed';
import { buildField, FIELD_OUT, isFieldBuildFresh } from '../../scripts/build-field-if-needed';

/**
 * The analyst app's build directory for a browser test: dist/web when it and dist/field are up to date with
 * their sources, else both built afresh into `tmp` (the field page is served from <webDir>/../field, so the
 * two go together). Never rebuilds dist/ itself: a test must not change what `npm start` serves.
 */
export async function webDirFor(tmp: string): Promise<string> {
  if (isWebBuildFresh(WEB_OUT) && isFieldBuildFresh(FIELD_OUT)) return WEB_OUT;
  const webDir = path.join(tmp, 'web');
  await buildWeb(webDir, { quiet: true });
  await buildField(path.join(tmp, 'field'), { quiet: true });
  return webDir;
}
