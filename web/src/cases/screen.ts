/**
 * The case screens (issue 13): #/cases (the ledger) and #/cases/ID (one case), under the shared top bar.
 * Moving between the two, and Back/Forward inside the list, stays on this page.
 */
import './cases.css';
import { h, mount } from '../dom';
import { topBar } from '../shell';
import type { User } from '../types';
import { CaseView } from './detail';
import { CaseList } from './list';

const caseIdOf = (hash: string) => {
  const m = /^#\/cases\/(\d{1,9})(?:\?|$)/.exec(hash);
  return m ? Number(m[1]) : undefined;
};

export class CasesScreen {
  private body = h('main', { class: 'cases-main' });
  private view?: CaseList | CaseView;
  private viewId?: number | 'list';

  constructor(root: HTMLElement, private readonly user: User) {
    mount(root, h('div', { class: 'cases-page' }, topBar(user, 'cases'), this.body));
    addEventListener('hashchange', () => {
      if (!location.hash.startsWith('#/cases')) return;
      void this.route();
    });
  }

  async start() {
    await this.route();
  }

  private async route() {
    const id = caseIdOf(location.hash) ?? 'list';
    if (id === this.viewId && this.view instanceof CaseList) {
      this.view.applyHash();
      return;
    }
    this.view?.stop();
    this.viewId = id;
    this.view = id === 'list' ? new CaseList(this.body, this.user) : new CaseView(this.body, this.user, id);
    scrollTo(0, 0);
    await this.view.start();
  }
}
