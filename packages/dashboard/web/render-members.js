import { byId, h, setText } from './dom.js';
import { changedRecently, clockTime, duration, metadataText, visibleMembers } from './view-model.js';
/** @import { PageState, MemberColumn } from './view-model.js' */
/** @import { WireMember } from '../src/wire.ts' */

/** The members table: sortable by column (click or Enter on a header), filterable, rows reused by id. */
export class MembersTable {
  /** @type {MemberColumn} */
  #column = 'id';
  /** @type {'ascending' | 'descending'} */
  #direction = 'ascending';
  #filter = '';
  /** @type {Map<string, HTMLTableRowElement>} */
  #rows = new Map();
  #body = /** @type {HTMLTableSectionElement} */ (byId('member-rows'));
  #onChange;

  /** @param {() => void} onChange */
  constructor(onChange) {
    this.#onChange = onChange;
    const input = /** @type {HTMLInputElement} */ (byId('member-filter'));
    input.addEventListener('input', () => {
      this.#filter = input.value;
      this.#onChange();
    });
    for (const header of byId('member-head').querySelectorAll('th[data-column]')) {
      const column = /** @type {MemberColumn} */ (header.getAttribute('data-column'));
      header.querySelector('button')?.addEventListener('click', () => this.#sortBy(column));
    }
  }

  /** @param {MemberColumn} column */
  #sortBy(column) {
    this.#direction = this.#column === column && this.#direction === 'ascending' ? 'descending' : 'ascending';
    this.#column = column;
    for (const header of byId('member-head').querySelectorAll('th[data-column]')) {
      if (header.getAttribute('data-column') === column) header.setAttribute('aria-sort', this.#direction);
      else header.removeAttribute('aria-sort');
    }
    this.#onChange();
  }

  /** @param {PageState} state @param {number} now */
  render(state, now) {
    const members = visibleMembers(state.members.values(), this.#filter, this.#column, this.#direction);
    const shown = new Set(members.map((member) => member.id));
    for (const [id, row] of this.#rows) {
      if (!shown.has(id)) {
        row.remove();
        this.#rows.delete(id);
      }
    }
    let previous = /** @type {HTMLTableRowElement | null} */ (null);
    for (const member of members) {
      const row = this.#rows.get(member.id) ?? this.#newRow(member.id);
      this.#fill(row, member, now);
      const expected = previous ? previous.nextElementSibling : this.#body.firstElementChild;
      if (expected !== row) {
        if (previous) previous.after(row);
        else this.#body.prepend(row);
      }
      previous = row;
    }
    const total = state.members.size;
    setText(byId('member-count'), shown.size === total ? `(${total})` : `(${shown.size} of ${total})`);
  }

  /** @param {string} id */
  #newRow(id) {
    const row = h('tr', { attributes: { 'data-id': id } });
    for (let index = 0; index < 7; index++) row.append(h('td'));
    /** @type {HTMLTableCellElement} */ (row.cells[6]).className = 'metadata';
    this.#rows.set(id, row);
    return row;
  }

  /** @param {HTMLTableRowElement} row @param {WireMember} member @param {number} now */
  #fill(row, member, now) {
    const recent = changedRecently(member, now);
    row.classList.toggle('recent', recent);
    row.classList.toggle('leader', member.role === 'leader');
    const cells = /** @type {HTMLTableCellElement[]} */ ([...row.cells]);
    setText(/** @type {HTMLTableCellElement} */ (cells[0]), recent ? `● ${member.id}` : member.id);
    cells[0]?.setAttribute('title', recent ? `changed at ${clockTime(member.changedAt ?? now)}` : '');
    setText(/** @type {HTMLTableCellElement} */ (cells[1]), member.address || '—');
    const state = /** @type {HTMLTableCellElement} */ (cells[2]);
    setText(state, member.state);
    state.className = `state-${member.state}`;
    setText(/** @type {HTMLTableCellElement} */ (cells[3]), member.role);
    setText(
      /** @type {HTMLTableCellElement} */ (cells[4]),
      `${duration(now - Date.parse(member.joinedAt))} ago`,
    );
    setText(
      /** @type {HTMLTableCellElement} */ (cells[5]),
      `${duration(now - Date.parse(member.lastSeen))} ago`,
    );
    setText(/** @type {HTMLTableCellElement} */ (cells[6]), metadataText(member) || '—');
  }
}
