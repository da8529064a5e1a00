import { byId, h, setText } from './dom.js';
import { clockTime } from './view-model.js';

/** @import { PageState } from './view-model.js' */
/** @import { WirePolicyVersion, WirePolicyDocument, WirePolicyDiff } from '../src/wire.ts' */

/** @param {string} path */
async function getJson(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}

/** The policies list; choosing one shows its document, and two versions still in etcd their diff. */
export class PoliciesView {
  /** @type {string | undefined} */
  #selected;
  /** @type {number | undefined} */
  #shownVersion;
  #from = /** @type {HTMLSelectElement} */ (byId('diff-from'));
  #to = /** @type {HTMLSelectElement} */ (byId('diff-to'));

  constructor() {
    this.#from.addEventListener('change', () => void this.#showSelection());
    this.#to.addEventListener('change', () => void this.#showSelection());
  }

  /** @param {PageState} state */
  render(state) {
    const policies = [...state.policies.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    const rows = policies.map((policy) => {
      const button = h('button', { text: policy.name, attributes: { type: 'button' } });
      button.addEventListener('click', () => void this.select(policy.name, policy.version));
      return h('tr', { attributes: { 'aria-current': String(policy.name === this.#selected) } }, [
        h('td', {}, [button]),
        h('td', { text: String(policy.version) }),
        h('td', { text: policy.updatedBy }),
        h('td', { text: clockTime(policy.updatedAt) }),
      ]);
    });
    if (rows.length === 0)
      rows.push(h('tr', {}, [h('td', { text: 'No policies.', attributes: { colspan: '4' } })]));
    byId('policy-rows').replaceChildren(...rows);
    const current = this.#selected && state.policies.get(this.#selected);
    if (this.#selected && !current) byId('policy-detail').hidden = true;
    // A new version was written while it is shown: show that one.
    else if (current && current.version !== this.#shownVersion)
      void this.select(current.name, current.version);
  }

  /** @param {string} name @param {number} [version] the latest version, when known */
  async select(name, version) {
    this.#selected = name;
    this.#shownVersion = version;
    const detail = byId('policy-detail');
    detail.hidden = false;
    setText(byId('policy-title'), name);
    try {
      /** @type {WirePolicyVersion[]} */
      const versions = await getJson(`api/policies/${encodeURIComponent(name)}/versions`);
      if (this.#selected !== name) return;
      this.#shownVersion = versions[0]?.version;
      const options = () =>
        versions.map((version) =>
          h('option', {
            text: `v${version.version} · ${version.updatedBy} · ${clockTime(version.updatedAt)}`,
            attributes: { value: String(version.version) },
          }),
        );
      this.#from.replaceChildren(...options());
      this.#to.replaceChildren(...options());
      // Show what the latest write changed; pick the same version twice to read a whole document.
      this.#to.value = String(versions[0]?.version ?? '');
      this.#from.value = String((versions[1] ?? versions[0])?.version ?? '');
      await this.#showSelection();
    } catch (error) {
      setText(byId('policy-document'), `Could not read ${name}: ${/** @type {Error} */ (error).message}`);
    }
  }

  async #showSelection() {
    const name = this.#selected;
    if (!name) return;
    const target = byId('policy-document');
    try {
      if (this.#from.value === this.#to.value) {
        /** @type {WirePolicyDocument} */
        const policy = await getJson(`api/policies/${encodeURIComponent(name)}?version=${this.#to.value}`);
        target.replaceChildren(policy.document);
        return;
      }
      /** @type {WirePolicyDiff} */
      const diff = await getJson(
        `api/policies/${encodeURIComponent(name)}/diff?from=${this.#from.value}&to=${this.#to.value}`,
      );
      const marks = { same: '  ', add: '+ ', remove: '- ' };
      target.replaceChildren(
        ...diff.lines.map((line) => h('span', { className: line.op, text: `${marks[line.op]}${line.text}` })),
      );
    } catch (error) {
      setText(target, `Could not read ${name}: ${/** @type {Error} */ (error).message}`);
    }
  }
}
