import './style.css';
import { ApiError } from './api';
import { codeMatch, linkToken, loadWorklist, registerWorker, setRerender, shell, showError, showLogin, type Shell } from './app';
import { showList } from './list';
import { showPatrol } from './patrol';
import { showPolygon } from './polygon';
import { startQueue } from './queue';
import type { Worklist } from './types';

const decode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

async function route(s: Shell): Promise<void> {
  const again = () => void route(s);
  if (/^\/patrol\/?$/.test(location.pathname)) return showPatrol(s);
  if (linkToken) {
    const code = decode(location.hash.slice(1));
    let wl: Worklist;
    try {
      wl = await loadWorklist();
    } catch (e) {
      return showError(s.body, e, again);
    }
    if (code || wl.items.length === 1) return showPolygon(s, { code: code || wl.items[0].code, worklist: wl });
    return showList(s, wl);
  }
  if (codeMatch) return showPolygon(s, { code: decode(codeMatch[1]) });
  let wl: Worklist;
  try {
    wl = await loadWorklist();
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.code === 'password_change_required')) {
      return showLogin(s.body, () => {
        const next = new URLSearchParams(location.search).get('next');
        if (next && /^\/p(\/|$)/.test(next)) location.assign(next);
        else again();
      });
    }
    return showError(s.body, e, again);
  }
  return showList(s, wl);
}

async function boot() {
  void startQueue().catch(() => undefined);
  // a new language: the page is built again from the same data (drafts are kept by the views)
  const rerender = () => void route(shell());
  setRerender(rerender);
  window.addEventListener('hashchange', rerender);
  await route(shell());
  registerWorker();
}

void boot();
