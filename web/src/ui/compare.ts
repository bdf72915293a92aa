// ui/compare.ts — compare mode controls: a second pane on/off, linked pan/zoom, and which pane
// the controls below edit (clicking a pane chooses it too). Never fetches or draws.
import type { ViewState } from '../state';
import { el, options, row } from './controls';

export function create_compare_controls(root: HTMLElement, on_change: (patch: Partial<ViewState>) => void) {
  const compare = el('input', { id: 'compare', type: 'checkbox', title: 'Two plots side by side over the same tracks' });
  const linked = el('input', { id: 'linked', type: 'checkbox', title: 'Pan/zoom in one pane moves the other alike' });
  const active = el('select', { id: 'active-pane', title: 'The pane the controls edit (or click a pane)' });
  options(active, [['0', 'pane 1 (left)'], ['1', 'pane 2 (right)']]);
  const detail = el('div', { className: 'compare-detail' }, row('Link', el('label', {}, linked, ' pan & zoom')), row('Editing', active));
  const fieldset = el('fieldset', { id: 'compare-controls' }, el('legend', {}, 'Compare'),
    row('Panes', el('label', {}, compare, ' two side by side')), detail);
  root.insertBefore(fieldset, root.querySelector('fieldset'));

  compare.addEventListener('change', () => on_change({ compare: compare.checked, active: 0 }));
  linked.addEventListener('change', () => on_change({ linked: linked.checked }));
  active.addEventListener('change', () => on_change({ active: active.value === '1' ? 1 : 0 }));

  return {
    sync(s: ViewState) {
      compare.checked = s.compare;
      linked.checked = s.linked;
      active.value = String(s.active);
      detail.hidden = !s.compare;
    },
  };
}
