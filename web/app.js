/* segue dashboard: Discover, Explore, Map, Models. Plain JavaScript, no framework.
 * Every call to the API goes through api(), which turns network failures, non-2xx
 * answers and non-JSON bodies into an ApiError that the page shows in its message area. */
'use strict';

(function () {
  // ---------------------------------------------------------------------------
  // Small helpers

  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  /* el('div', {class: 'x', onclick: f}, child, 'text', [more]) */
  function el(tag, props, ...kids) {
    const n = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === 'class') n.className = v;
        else if (k === 'text') n.textContent = v;
        else if (k === 'dataset') Object.assign(n.dataset, v);
        else if (k === 'style') n.style.cssText = v; // CSSOM, so a strict CSP (no inline style attributes) still allows it
        else if (k.startsWith('on') && typeof v === 'function') n.addEventListener(k.slice(2), v);
        else n.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid === null || kid === undefined || kid === false) continue;
      n.append(kid instanceof Node ? kid : String(kid));
    }
    return n;
  }

  function svgEl(tag, attrs) {
    const n = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
    return n;
  }

  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

  function fmt(v, digits) {
    if (v === null || v === undefined) return '–';
    if (typeof v === 'boolean') return v ? 'yes' : 'no';
    if (typeof v !== 'number') return String(v);
    if (!Number.isFinite(v)) return '–';
    if (digits !== undefined) return v.toFixed(digits);
    if (Number.isInteger(v)) return v.toLocaleString('en-US');
    const a = Math.abs(v);
    if (a >= 1000) return Math.round(v).toLocaleString('en-US');
    if (a >= 100) return v.toFixed(1);
    if (a >= 1) return v.toFixed(2);
    return v.toFixed(3);
  }

  function humanize(key) {
    const s = String(key).replace(/_/g, ' ');
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  const listText = (v) => (Array.isArray(v) ? v.join(', ') : v === null || v === undefined ? '' : String(v));

  function spotifyUrl(id) {
    return 'https://open.spotify.com/track/' + encodeURIComponent(id);
  }

  // ---------------------------------------------------------------------------
  // The API

  class ApiError extends Error {
    constructor(message, { status = 0, code = '', detail = '', requestId = '' } = {}) {
      super(message);
      this.name = 'ApiError';
      this.status = status;
      this.code = code;
      this.detail = detail;
      this.requestId = requestId;
    }
  }

  async function request(path, opts = {}) {
    let res;
    try {
      res = await fetch(path, opts);
    } catch (e) {
      throw new ApiError('Could not reach the server', { detail: `${path}: ${e && e.message ? e.message : e}` });
    }
    return res;
  }

  async function failure(res, path) {
    let body = null;
    let text = '';
    try {
      text = await res.text();
      body = JSON.parse(text);
    } catch (e) {
      body = null;
    }
    const b = body && typeof body === 'object' ? body : {};
    const code = typeof b.error === 'string' ? b.error : '';
    let detail = typeof b.detail === 'string' ? b.detail : '';
    if (!code && !detail && text) detail = text.slice(0, 300);
    const status = `HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}`;
    return new ApiError(code ? `${code} (${status})` : `${status} from ${path}`, {
      status: res.status, code, detail, requestId: typeof b.request_id === 'string' ? b.request_id : '',
    });
  }

  /* GET or POST JSON; resolves to the parsed body, rejects with ApiError. */
  async function api(path, { method = 'GET', body } = {}) {
    const opts = { method, headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    const res = await request(path, opts);
    if (!res.ok) throw await failure(res, path);
    let text;
    try {
      text = await res.text();
    } catch (e) {
      throw new ApiError('The connection broke while reading the answer', { detail: path });
    }
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new ApiError('The server sent something that is not JSON', { status: res.status, detail: path });
    }
  }

  /* GET an SVG document as text. */
  async function apiText(path) {
    const res = await request(path, { headers: { Accept: 'image/svg+xml' } });
    if (!res.ok) throw await failure(res, path);
    try {
      return await res.text();
    } catch (e) {
      throw new ApiError('The connection broke while reading the answer', { detail: path });
    }
  }

  // ---------------------------------------------------------------------------
  // Messages (one area per page)

  function showMessage(page, kind, title, detail, requestId) {
    const box = $(`#page-${page} [data-messages]`);
    if (!box) return;
    // The same message twice in a row is shown once.
    const key = `${kind}|${title}|${detail || ''}`;
    for (const old of $$('.msg', box)) if (old.dataset.key === key) old.remove();
    const msg = el('div', { class: `msg msg-${kind}`, role: kind === 'error' ? 'alert' : 'status', dataset: { key } },
      el('div', null,
        el('p', null, el('strong', null, title)),
        detail ? el('p', { class: 'detail' }, detail) : null,
        requestId ? el('p', { class: 'detail' }, 'request id ', el('code', null, requestId)) : null),
      el('button', { type: 'button', class: 'btn btn-link close', 'aria-label': 'Dismiss message',
        onclick: () => msg.remove() }, '✕'));
    box.append(msg);
    while (box.children.length > 4) box.firstElementChild.remove();
  }

  function showError(page, err, context) {
    if (err instanceof ApiError) {
      showMessage(page, 'error', context ? `${context}: ${err.message}` : err.message, err.detail, err.requestId);
    } else {
      showMessage(page, 'error', context || 'Something went wrong', err && err.message ? err.message : String(err));
    }
  }

  function clearMessages(page) {
    const box = $(`#page-${page} [data-messages]`);
    if (box) box.replaceChildren();
  }

  function setState(page, state) {
    const s = $(`#page-${page}`);
    if (s) s.dataset.state = state;
  }

  // A last safety net: a rejection nobody handled is shown, not left in the console.
  window.addEventListener('unhandledrejection', (ev) => {
    ev.preventDefault();
    showError(currentPage || 'discover', ev.reason, 'Unexpected error');
  });

  // ---------------------------------------------------------------------------
  // The listener and what they do (issue 11: A/B testing)
  //
  // An anonymous listener id, made on the first visit and kept in
  // localStorage, goes with every POST /api/recommend as "user_id": the
  // server assigns the listener to a running experiment by it and logs the
  // list it served (an impression). What the listener then does with a list
  // goes to POST /api/events, each event with its own event_id, the list's
  // request_id, the track's 0-based position in that list and the client's
  // clock. What counts as what:
  //   play     the embedded player opened (▶ Play) or "Open in Spotify"
  //            followed; once per track and list.
  //   skip     a track played in the embedded player and left before
  //            SKIP_MS (another track played, the player closed, the track
  //            disliked): started, then passed over, as a music player counts
  //            a skip. A dislike of a track never played is a dislike only,
  //            and a track opened in Spotify's own app cannot be followed,
  //            so it is never called skipped.
  //   like, dislike   the buttons switched on; switching one off sends
  //            nothing (the log has no "unlike"); once per track and list.
  //   save     saving the list (M3U, CSV, the Spotify URIs copied or
  //            downloaded) is a save of every track in it, once per list:
  //            that is how a listener keeps tracks from segue.
  // Events wait in a queue (mirrored in localStorage, so that a reload or a
  // closed tab sends them on the next visit) and go in batches FLUSH_MS
  // after the first, at once when the page is hidden; every request is a
  // keepalive fetch, so it outlives the page. A batch that fails is sent
  // again, with the same event ids, after a growing pause: the store keeps
  // an event id once, so a batch that arrived but whose answer was lost
  // costs nothing. Nothing here blocks the page: no handler waits on it.

  const ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/; // events.h EV_ID_MAX rule
  const USER_KEY = 'segue.user';
  const QUEUE_KEY = 'segue.events.pending';
  const FLUSH_MS = 2000;
  const SKIP_MS = 30000; // the 30 s after which a play counts as a listen
  const BATCH_MAX = 100;
  const QUEUE_MAX = 5000; // beyond this the oldest events are dropped (a server down for long)
  const RETRY_MAX_MS = 60000;

  /* A random id: a UUID where the browser makes one (secure contexts), else
   * 128 random bits in hex. */
  function randomId(prefix) {
    if (window.crypto && typeof crypto.randomUUID === 'function') return prefix + crypto.randomUUID();
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return prefix + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  function storageGet(key) {
    try {
      return localStorage.getItem(key);
    } catch (e) {
      return null; // storage disabled: the id and the queue then last for the page only
    }
  }

  function storageSet(key, value) {
    try {
      localStorage.setItem(key, value);
    } catch (e) {
      /* full or disabled: the events still go from memory */
    }
  }

  const listener = {
    id: '',
    queue: [],           // events not yet acknowledged, oldest first
    acked: new Set(),    // event ids this page saw stored (kept out of the mirror another tab writes)
    sent: new Set(),     // "list|type|track": what was already counted for a list
    inflight: false,
    off: false,          // the server has no events route: stop asking
    timer: 0,
    retryMs: 0,
    batchMax: BATCH_MAX,
    playing: null,       // {list, track, position, at}: the track in the embedded player
    stats: { posted: 0, stored: 0, duplicates: 0, failures: 0, dropped: 0 },
  };

  function listenerInit() {
    const old = storageGet(USER_KEY);
    listener.id = old && ID_RE.test(old) ? old : randomId('web-');
    if (listener.id !== old) storageSet(USER_KEY, listener.id);
    // Events a closed page left behind go first.
    try {
      const q = JSON.parse(storageGet(QUEUE_KEY) || '[]');
      if (Array.isArray(q)) listener.queue = q.filter((e) => e && typeof e === 'object' && ID_RE.test(e.event_id || ''));
    } catch (e) {
      listener.queue = [];
    }
    if (listener.queue.length) scheduleFlush(FLUSH_MS);
    const hide = (ev) => {
      if (document.visibilityState === 'hidden' || ev.type === 'pagehide') {
        clearTimeout(listener.timer);
        listener.timer = 0;
        flushEvents();
      }
    };
    document.addEventListener('visibilitychange', hide);
    window.addEventListener('pagehide', hide);
    // For the browser test and for a curious listener: read-mostly.
    window.segueEvents = {
      get userId() { return listener.id; },
      get pending() { return listener.queue.length; },
      get stats() { return { ...listener.stats }; },
      flush: () => flushEvents(),
    };
  }

  /* Writes the queue to localStorage, merged with what another tab may have
   * put there (less what this tab saw stored). */
  function persistQueue() {
    let merged = listener.queue;
    try {
      const other = JSON.parse(storageGet(QUEUE_KEY) || '[]');
      if (Array.isArray(other) && other.length) {
        const mine = new Set(listener.queue.map((e) => e.event_id));
        const theirs = other.filter((e) => e && typeof e.event_id === 'string' && !mine.has(e.event_id) && !listener.acked.has(e.event_id));
        if (theirs.length) merged = theirs.concat(listener.queue);
      }
    } catch (e) {
      /* a broken mirror is replaced */
    }
    storageSet(QUEUE_KEY, JSON.stringify(merged.slice(-QUEUE_MAX)));
  }

  function scheduleFlush(ms) {
    if (!listener.timer) listener.timer = setTimeout(() => { listener.timer = 0; flushEvents(); }, ms);
  }

  /* A list on screen, as events name it: the answer's request id (when the
   * server gave one) and its track ids. */
  function eventList(data) {
    const tracks = Array.isArray(data && data.tracks) ? data.tracks : [];
    const rid = typeof (data && data.request_id) === 'string' && ID_RE.test(data.request_id) ? data.request_id : '';
    return { requestId: rid, key: rid || randomId('local-'), ids: tracks.map((t) => (t && typeof t.id === 'string' ? t.id : '')) };
  }

  /* Queues one event of `type` on track `id` of `list`; once per list,
   * type and track. */
  function logEvent(type, list, id, position) {
    if (!list || !id) return;
    const key = `${list.key}|${type}|${id}`;
    if (listener.sent.has(key)) return;
    listener.sent.add(key);
    const ev = { event_id: randomId('e-'), type, user_id: listener.id, track: id, client_ms: Date.now() };
    if (list.requestId) ev.request_id = list.requestId;
    if (Number.isInteger(position) && position >= 0 && position < 500) ev.position = position;
    listener.queue.push(ev);
    if (listener.queue.length > QUEUE_MAX) {
      listener.stats.dropped += listener.queue.length - QUEUE_MAX;
      listener.queue.splice(0, listener.queue.length - QUEUE_MAX);
    }
    persistQueue();
    scheduleFlush(listener.queue.length >= BATCH_MAX ? 0 : FLUSH_MS);
  }

  /* The embedded player started `id`: a play, and the track it replaced is
   * left (a skip when it played less than SKIP_MS). */
  function logPlay(list, id, position, embedded) {
    const p = listener.playing;
    if (embedded && p && p.list === list && p.id === id) return; // the same track again: still the one play
    if (embedded) leavePlaying();
    logEvent('play', list, id, position);
    if (embedded) listener.playing = { list, id, position, at: Date.now() };
  }

  function leavePlaying(onlyId) {
    const p = listener.playing;
    if (!p || (onlyId && p.id !== onlyId)) return;
    listener.playing = null;
    if (Date.now() - p.at < SKIP_MS) logEvent('skip', p.list, p.id, p.position);
  }

  function logSave(list) {
    if (!list) return;
    list.ids.forEach((id, i) => logEvent('save', list, id, i));
  }

  /* Sends the oldest batch; on success the next, on failure the same batch
   * again after a pause that doubles up to RETRY_MAX_MS. */
  async function flushEvents() {
    if (listener.inflight || listener.off || !listener.queue.length) return;
    let batch = listener.queue.slice(0, listener.batchMax);
    let body = JSON.stringify({ events: batch });
    // A keepalive request carries at most 64 KiB.
    while (body.length > 60000 && batch.length > 1) {
      batch = batch.slice(0, Math.ceil(batch.length / 2));
      body = JSON.stringify({ events: batch });
    }
    listener.inflight = true;
    listener.stats.posted += batch.length;
    let res = null;
    let answer = null;
    try {
      res = await fetch('/api/events', { method: 'POST', keepalive: true, body,
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' } });
      answer = await res.json().catch(() => null);
    } catch (e) {
      res = null; // offline, or the server is down: try again later
    } finally {
      listener.inflight = false;
    }
    const drop = (ids) => {
      for (const id of ids) listener.acked.add(id);
      listener.queue = listener.queue.filter((e) => !ids.has(e.event_id));
      persistQueue();
    };
    if (res && res.ok) {
      drop(new Set(batch.map((e) => e.event_id)));
      if (answer) {
        listener.stats.stored += isNum(answer.stored) ? answer.stored : 0;
        listener.stats.duplicates += isNum(answer.duplicates) ? answer.duplicates : 0;
      }
      listener.retryMs = 0;
      listener.batchMax = BATCH_MAX;
      if (listener.queue.length) scheduleFlush(0);
      return;
    }
    listener.stats.failures++;
    if (res && res.status === 400) {
      // The server names the bad event: it would be refused for ever, so it
      // goes (and is said on the console); the rest are sent again at once.
      // Without an index the batch as a whole was refused: it goes too.
      const i = answer && Number.isInteger(answer.index) && answer.index >= 0 && answer.index < batch.length ? answer.index : -1;
      const bad = i >= 0 ? [batch[i]] : batch;
      console.warn('segue: events refused by the server and dropped', answer && answer.detail, bad);
      listener.stats.dropped += bad.length;
      drop(new Set(bad.map((e) => e.event_id)));
      if (listener.queue.length) scheduleFlush(0);
      return;
    }
    if (res && res.status === 413) {
      if (batch.length > 1) {
        listener.batchMax = Math.max(1, Math.floor(batch.length / 2));
      } else {
        listener.stats.dropped++; // one event too big for the server: it can never go
        drop(new Set([batch[0].event_id]));
      }
      if (listener.queue.length) scheduleFlush(0);
      return;
    }
    if (res && (res.status === 404 || res.status === 405)) {
      // A server without the events route (older than issue 11): the
      // events stay queued for a page of a server that takes them.
      listener.off = true;
      return;
    }
    listener.retryMs = Math.min(RETRY_MAX_MS, listener.retryMs ? listener.retryMs * 2 : 1000);
    scheduleFlush(listener.retryMs);
  }

  // ---------------------------------------------------------------------------
  // Routing

  const PAGES = ['discover', 'explore', 'map', 'models', 'experiments', 'runs'];
  const TITLES = { discover: 'Discover', explore: 'Explore', map: 'Map', models: 'Models', experiments: 'Experiments', runs: 'Runs' };
  let currentPage = null;
  let lastExpUrl = ''; // the Experiments page's last state, kept while on other pages
  const loaded = {};

  function route() {
    const m = /^#\/([a-z]+)/.exec(location.hash);
    const page = m && PAGES.includes(m[1]) ? m[1] : 'discover';
    if (!m || m[1] !== page) history.replaceState(null, '', '#/' + page);
    const first = currentPage === null;
    if (page === 'discover' && !first) {
      const p = urlParams();
      if (p && location.hash !== lastUrl) {
        // A request pasted into the address bar: show and ask it.
        if (applyUrlState(p)) {
          nameChips();
          recommend();
        }
      } else if (!p && lastUrl) {
        // Back from another page: the URL names the list again.
        history.replaceState(null, '', lastUrl);
      }
    }
    if (page === 'experiments') {
      if (/^#\/experiments\?./.test(location.hash)) lastExpUrl = location.hash;
      else if (lastExpUrl && page !== currentPage) history.replaceState(null, '', lastExpUrl); // back from another page
      // Another experiment, or power inputs, named by the URL.
      if (page === currentPage && loaded.experiments) {
        expFromUrl();
        return;
      }
    }
    if (page === 'runs' && page === currentPage && loaded.runs) {
      runsFromUrl();
      return;
    }
    if (page === currentPage) return;
    currentPage = page;
    for (const p of PAGES) $(`#page-${p}`).hidden = p !== page;
    for (const a of $$('.nav a')) {
      if (a.dataset.route === page) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    document.title = `${TITLES[page]} · segue`;
    if (!first) $(`#h-${page}`).focus({ preventScroll: true });
    window.scrollTo(0, 0);
    const load = { explore: loadExplore, map: loadMap, models: loadModels, experiments: loadExperiments, runs: loadRuns }[page];
    if (load && !loaded[page]) {
      loaded[page] = true;
      load().catch((e) => {
        loaded[page] = false;
        setState(page, 'error');
        showError(page, e);
      });
    } else if (page === 'runs' && loaded.runs) {
      runsFromUrl();
    } else if (page === 'experiments') {
      expFromUrl(); // the URL may name another experiment than when the page was left
    }
    if (page === 'discover') setState('discover', 'ready');
    if (page === 'map') mapView.resize();
  }

  // ---------------------------------------------------------------------------
  // Discover

  const MOODS = ['energy', 'valence', 'danceability', 'acousticness'];
  const DEFAULTS = { k: 10, maxPerArtist: 2, diversity: 0.3, novelty: 0.1, quality: 0.1 };
  let seeds = []; // [{id, name, artists}]
  let dislikes = []; // [{id, name, artists}]: negative seeds for the next request
  let genres = []; // the genre filter
  let lastRecommendation = null; // {data, title} of the last POST /api/recommend
  const MAX_SEEDS = 64;

  function cleanList(v) {
    return Array.isArray(v) ? v.filter((x) => x && typeof x.id === 'string').slice(0, MAX_SEEDS) : [];
  }

  function loadSeeds() {
    try {
      const s = JSON.parse(sessionStorage.getItem('segue.seeds') || '[]');
      seeds = cleanList(s);
      dislikes = cleanList(JSON.parse(sessionStorage.getItem('segue.dislikes') || '[]'));
    } catch (e) {
      seeds = [];
      dislikes = [];
    }
  }

  function saveSeeds() {
    try {
      sessionStorage.setItem('segue.seeds', JSON.stringify(seeds));
      sessionStorage.setItem('segue.dislikes', JSON.stringify(dislikes));
    } catch (e) {
      /* storage may be disabled: seeds then last for the page only */
    }
  }

  function addSeed(track) {
    if (!track || !track.id || seeds.some((s) => s.id === track.id)) return false;
    if (seeds.length >= MAX_SEEDS) {
      showMessage('discover', 'error', `At most ${MAX_SEEDS} seeds`, 'Remove one before adding another.');
      return false;
    }
    dislikes = dislikes.filter((d) => d.id !== track.id);
    seeds.push({ id: track.id, name: track.name || track.id, artists: listText(track.artists) });
    saveSeeds();
    renderSeeds();
    return true;
  }

  function removeSeed(id) {
    seeds = seeds.filter((s) => s.id !== id);
    saveSeeds();
    renderSeeds();
  }

  function addDislike(track) {
    if (!track || !track.id || dislikes.some((s) => s.id === track.id)) return false;
    if (dislikes.length >= MAX_SEEDS) {
      showMessage('discover', 'error', `At most ${MAX_SEEDS} dislikes`, 'Remove one before adding another.');
      return false;
    }
    seeds = seeds.filter((s) => s.id !== track.id);
    dislikes.push({ id: track.id, name: track.name || track.id, artists: listText(track.artists) });
    saveSeeds();
    renderSeeds();
    return true;
  }

  function removeDislike(id) {
    dislikes = dislikes.filter((s) => s.id !== id);
    saveSeeds();
    renderSeeds();
  }

  function chipList(ul, list, label, remove) {
    ul.replaceChildren(...list.map((s) => el('li', { class: 'chip', title: s.artists ? `${s.name} — ${s.artists}` : s.name },
      el('span', null, s.name),
      el('button', { type: 'button', 'aria-label': `${label} ${s.name}`, onclick: (ev) => {
        const li = ev.currentTarget.closest('li');
        const next = li.nextElementSibling || li.previousElementSibling;
        const title = next ? next.title : null;
        remove(s.id);
        // Keep keyboard focus in the list of chips, or on the search box.
        const target = title !== null ? $$('li', ul).find((x) => x.title === title) : null;
        (target ? $('button', target) : $('#search')).focus();
      } }, '×'))));
  }

  function renderSeeds() {
    chipList($('#seeds'), seeds, 'Remove seed', removeSeed);
    chipList($('#dislikes'), dislikes, 'Remove dislike of', removeDislike);
    $('#seeds-empty').hidden = seeds.length > 0;
    $('#dislikes-wrap').hidden = dislikes.length === 0;
    // Keep the "Add as seed" and like/dislike buttons in step with the lists.
    for (const b of $$('button[data-seed-id]')) {
      const has = seeds.some((s) => s.id === b.dataset.seedId);
      b.disabled = has;
      b.textContent = has ? 'Added' : 'Add as seed';
    }
    for (const b of $$('button[data-like-id]')) b.setAttribute('aria-pressed', seeds.some((s) => s.id === b.dataset.likeId) ? 'true' : 'false');
    for (const b of $$('button[data-dislike-id]')) {
      const on = dislikes.some((s) => s.id === b.dataset.dislikeId);
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
      const card = b.closest('.card');
      if (card) card.classList.toggle('disliked', on);
    }
  }

  /* Fetches the names of seeds and dislikes that came as bare ids (from a
   * shared URL), and shows them as they come. */
  async function nameChips() {
    const bare = [...seeds, ...dislikes].filter((s) => s.name === s.id);
    await Promise.all(bare.map(async (s) => {
      try {
        const t = await api(`/api/tracks/${encodeURIComponent(s.id)}`);
        s.name = t.name || s.id;
        s.artists = listText(t.artists);
      } catch (e) {
        /* an unknown id keeps its id as its name; the answer's warning says why */
      }
    }));
    if (bare.length) {
      saveSeeds();
      renderSeeds();
    }
  }

  function seedButton(track, extraClass) {
    const has = seeds.some((s) => s.id === track.id);
    return el('button', {
      type: 'button', class: `btn btn-sm ${extraClass || ''}`, dataset: { seedId: track.id }, disabled: has,
      'aria-label': `Add ${track.name || track.id} as seed`,
      onclick: () => addSeed(track),
    }, has ? 'Added' : 'Add as seed');
  }

  // Genres for the filter: the catalogue's, most tracks first (GET /api/genres).
  function renderGenres() {
    chipList($('#genres'), genres.map((g) => ({ id: g, name: g })), 'Remove genre', (g) => {
      genres = genres.filter((x) => x !== g);
      renderGenres();
    });
  }

  function addGenre(name) {
    const g = String(name || '').trim().toLowerCase();
    if (!g || genres.includes(g) || genres.length >= 32) return;
    genres.push(g);
    renderGenres();
  }

  async function loadGenreList() {
    try {
      const data = await api('/api/genres?limit=500');
      const list = Array.isArray(data && data.genres) ? data.genres : [];
      $('#genre-list').replaceChildren(...list.filter((g) => g && typeof g.name === 'string')
        .map((g) => el('option', { value: g.name }, isNum(g.tracks) ? `${fmt(g.tracks)} tracks` : '')));
    } catch (e) {
      /* the field still takes typed genres */
    }
  }

  // Listening in place: Spotify's embed player, created only when the
  // listener presses play (nothing is asked of Spotify before).
  function playHere(id, name, list, position) {
    logPlay(list, id, position, true);
    const box = $('#player');
    const frame = el('iframe', {
      src: `https://open.spotify.com/embed/track/${encodeURIComponent(id)}`,
      title: `Spotify player: ${name}`, width: '100%', height: '152', loading: 'eager',
      allow: 'autoplay; clipboard-write; encrypted-media; fullscreen; picture-in-picture',
    });
    box.replaceChildren(
      el('div', { class: 'player-head' }, el('span', null, 'Playing in Spotify’s player: ', el('b', null, name)),
        el('button', { type: 'button', class: 'btn btn-link', 'aria-label': 'Close the player', onclick: () => {
          leavePlaying();
          box.replaceChildren();
          box.hidden = true;
        } }, 'Close ✕')),
      frame);
    box.hidden = false;
    box.dataset.id = id;
    box.scrollIntoView({ block: 'nearest' });
  }

  // Saving a list: M3U, CSV and Spotify URIs, made here and downloaded.
  function resultTracks() {
    const d = lastShown && lastShown.data;
    return Array.isArray(d && d.tracks) ? d.tracks.filter((t) => t && typeof t.id === 'string') : [];
  }

  function download(name, type, text) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    const a = el('a', { href: url, download: name, style: 'display:none' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function listFileName(ext) {
    const d = new Date();
    const p = (n) => String(n).padStart(2, '0');
    return `segue-${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}.${ext}`;
  }

  function m3uText(tracks) {
    const line = (s) => String(s).replace(/[\r\n]+/g, ' ');
    return '#EXTM3U\n' + tracks.map((t) => {
      const artists = listText(t.artists);
      return `#EXTINF:-1,${line(artists ? `${artists} - ${t.name || t.id}` : t.name || t.id)}\n${spotifyUrl(t.id)}\n`;
    }).join('');
  }

  function csvField(v) {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }

  function csvText(tracks) {
    const rows = [['rank', 'spotify_id', 'name', 'artists', 'score', 'reasons', 'spotify_uri', 'url']];
    tracks.forEach((t, i) => rows.push([isNum(t.rank) ? t.rank : i + 1, t.id, t.name || '', listText(t.artists),
      isNum(t.score) ? t.score.toFixed(4) : '', typeof t.reasons === 'string' ? t.reasons : listText(t.reasons),
      `spotify:track:${t.id}`, spotifyUrl(t.id)]));
    return rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
  }

  const urisText = (tracks) => tracks.map((t) => `spotify:track:${t.id}\n`).join('');

  // Saving the list, in any of its forms, is a save of its tracks.
  const savedList = () => logSave(lastShown && lastShown.list);

  function initExport() {
    $('#export-m3u').addEventListener('click', () => {
      download(listFileName('m3u'), 'audio/x-mpegurl', m3uText(resultTracks()));
      savedList();
    });
    $('#export-csv').addEventListener('click', () => {
      download(listFileName('csv'), 'text/csv', csvText(resultTracks()));
      savedList();
    });
    $('#export-uris').addEventListener('click', (ev) => {
      const box = $('#uris-box');
      box.hidden = !box.hidden;
      ev.currentTarget.setAttribute('aria-expanded', box.hidden ? 'false' : 'true');
      $('#uris').value = urisText(resultTracks());
      if (!box.hidden) $('#uris').select();
    });
    $('#uris-copy').addEventListener('click', (ev) => {
      copyText(urisText(resultTracks()), ev.currentTarget);
      savedList();
    });
    $('#uris-download').addEventListener('click', () => {
      download(listFileName('txt'), 'text/plain', urisText(resultTracks()));
      savedList();
    });
    $('#show-on-map').addEventListener('click', () => {
      const tracks = resultTracks();
      showOnMap(tracks.map((t) => t.id), lastShown ? lastShown.title.toLowerCase() : 'the list', tracks.length ? tracks[0].id : null);
    });
  }

  // Search, debounced; an answer to an older query is dropped.
  let searchTimer = 0;
  let searchSeq = 0;

  /* One sentence for a failed search: the server's detail when it gave one
   * ("the search is too broad ..."), not its status code. */
  function searchErrorText(e) {
    if (e instanceof ApiError) {
      if (e.detail && e.status >= 400 && e.status < 500) return e.detail;
      return e.detail ? `Search failed: ${e.detail}` : 'Search failed; try again.';
    }
    return `Search failed: ${e && e.message ? e.message : String(e)}`;
  }

  async function runSearch() {
    clearTimeout(searchTimer);
    const q = $('#search').value.trim();
    const seq = ++searchSeq;
    const status = $('#search-status');
    const list = $('#search-results');
    // The status line under the field is the search's only message area: a
    // request that fails (e.g. 400 "too broad") says why there, in the
    // server's own words, and the next answer replaces it. Search never
    // adds a banner to the page's messages.
    status.classList.remove('search-error');
    delete status.dataset.state;
    if (!q) {
      list.replaceChildren();
      status.textContent = '';
      return;
    }
    status.replaceChildren(el('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Searching…');
    let data;
    try {
      data = await api(`/api/tracks?q=${encodeURIComponent(q)}&limit=10`);
    } catch (e) {
      if (seq !== searchSeq) return;
      list.replaceChildren();
      status.classList.add('search-error');
      status.dataset.state = 'error';
      status.textContent = searchErrorText(e);
      return;
    }
    if (seq !== searchSeq) return;
    const tracks = Array.isArray(data && data.tracks) ? data.tracks : [];
    status.textContent = tracks.length === 0 ? `No track matches “${q}”.`
      : `${tracks.length} ${tracks.length === 1 ? 'match' : 'matches'}${isNum(data.count) && data.count > tracks.length ? ` of ${fmt(data.count)}` : ''}`;
    list.replaceChildren(...tracks.map((t) => {
      const sub = [listText(t.artists), listText(t.genres), isNum(t.popularity) ? `popularity ${t.popularity}` : '']
        .filter(Boolean).join(' · ');
      return el('li', null,
        el('div', { class: 'sr-text' },
          el('span', { class: 'sr-name' }, t.name || t.id),
          el('span', { class: 'sr-sub' }, sub, t.has_features === false ? el('span', { class: 'tag', style: 'margin-left:.35rem' }, 'no audio features') : null)),
        seedButton(t));
    }));
  }

  function buildMoods() {
    const box = $('#moods');
    for (const m of MOODS) {
      const on = el('input', { type: 'checkbox', id: `mood-${m}-on` });
      const range = el('input', { type: 'range', id: `mood-${m}`, min: 0, max: 1, step: 0.05, value: 0.5, disabled: true,
        'aria-label': `${humanize(m)} level` });
      const out = el('output', { for: `mood-${m}`, id: `mood-${m}-out` }, '0.50');
      out.setAttribute('aria-hidden', 'true');
      on.addEventListener('change', () => {
        range.disabled = !on.checked;
        out.style.opacity = on.checked ? '1' : '.5';
      });
      range.addEventListener('input', () => { out.textContent = Number(range.value).toFixed(2); });
      out.style.opacity = '.5';
      box.append(el('div', { class: 'mood' }, on, el('label', { for: `mood-${m}-on` }, humanize(m)), range, out));
    }
  }

  function bindRange(id, digits) {
    const r = $('#' + id);
    const o = $(`#${id}-out`);
    const upd = () => { o.textContent = Number(r.value).toFixed(digits); };
    r.addEventListener('input', upd);
    upd();
  }

  function resetKnobs() {
    $('#k').value = DEFAULTS.k;
    $('#model').value = modelPicker.defaultName;
    showModelHint();
    $('#max-per-artist').value = DEFAULTS.maxPerArtist;
    for (const [id, v] of [['diversity', DEFAULTS.diversity], ['novelty', DEFAULTS.novelty], ['quality', DEFAULTS.quality]]) {
      $('#' + id).value = v;
      $('#' + id).dispatchEvent(new Event('input'));
    }
    for (const m of MOODS) {
      const on = $(`#mood-${m}-on`);
      on.checked = false;
      on.dispatchEvent(new Event('change'));
      $(`#mood-${m}`).value = 0.5;
      $(`#mood-${m}`).dispatchEvent(new Event('input'));
    }
    for (const i of $$('[aria-invalid]')) i.removeAttribute('aria-invalid');
  }

  function intField(id, min, max, what) {
    const input = $('#' + id);
    const v = Number(input.value);
    if (input.value.trim() === '' || !Number.isInteger(v) || v < min || v > max) {
      input.setAttribute('aria-invalid', 'true');
      throw new Error(`${what} must be a whole number from ${min} to ${max}.`);
    }
    input.removeAttribute('aria-invalid');
    return v;
  }

  function yearField(id) {
    const input = $('#' + id);
    if (input.value.trim() === '') {
      input.removeAttribute('aria-invalid');
      return null;
    }
    return intField(id, 1900, 2100, id === 'year-min' ? 'The first year' : 'The last year');
  }

  function buildRequest() {
    const body = {
      seeds: seeds.map((s) => s.id),
      k: intField('k', 1, 100, 'k'),
      diversity: Number($('#diversity').value),
      novelty: Number($('#novelty').value),
      quality: Number($('#quality').value),
      max_per_artist: intField('max-per-artist', 0, 100, 'Max per artist'),
    };
    if ($('#model').value) body.model = $('#model').value; // none: the server's default
    const mood = {};
    for (const m of MOODS) if ($(`#mood-${m}-on`).checked) mood[m] = Number($(`#mood-${m}`).value);
    if (Object.keys(mood).length) body.mood = mood;
    // Sent only when set, so that a plain request stays what it was.
    if (dislikes.length) body.dislikes = dislikes.map((s) => s.id);
    if ($('#genre-input').value.trim()) addGenre($('#genre-input').value);
    $('#genre-input').value = '';
    if (genres.length) body.genres = genres.slice();
    const y0 = yearField('year-min'), y1 = yearField('year-max');
    if (y0 !== null) body.year_min = y0;
    if (y1 !== null) body.year_max = y1;
    if (y0 !== null && y1 !== null && y0 > y1) {
      $('#year-max').setAttribute('aria-invalid', 'true');
      throw new Error('The first year is after the last.');
    }
    if (!body.seeds.length && !body.mood) throw new Error('Add at least one seed, or switch on a mood.');
    return body;
  }

  // State in the URL: #/discover?seeds=..&dislikes=..&k=..&div=..&nov=..&qual=..
  // &mpa=..&model=..&mood=energy:0.05,..&genres=..&ymin=..&ymax=.. names the
  // request, so that a list can be shared, and a reload asks it again.
  function requestToParams(body) {
    const p = new URLSearchParams();
    if (body.seeds.length) p.set('seeds', body.seeds.join(','));
    if (body.dislikes) p.set('dislikes', body.dislikes.join(','));
    if (body.mood) p.set('mood', Object.entries(body.mood).map(([k, v]) => `${k}:${v}`).join(','));
    p.set('k', body.k);
    p.set('div', body.diversity);
    p.set('nov', body.novelty);
    p.set('qual', body.quality);
    p.set('mpa', body.max_per_artist);
    if (body.model) p.set('model', body.model);
    if (body.genres) p.set('genres', body.genres.join(','));
    if (body.year_min !== undefined) p.set('ymin', body.year_min);
    if (body.year_max !== undefined) p.set('ymax', body.year_max);
    return p;
  }

  let lastUrl = ''; // the hash the last request wrote

  function writeUrl(body) {
    lastUrl = `#/discover?${requestToParams(body).toString()}`;
    if (location.hash !== lastUrl) history.replaceState(null, '', lastUrl);
  }

  function urlParams() {
    const m = /^#\/discover\?(.*)$/.exec(location.hash);
    return m ? new URLSearchParams(m[1]) : null;
  }

  /* Puts the request named by the URL into the form; true when there is one
   * to ask (seeds or a mood). */
  function applyUrlState(p) {
    const ids = (key) => (p.get(key) || '').split(',').map((x) => x.trim()).filter(Boolean).slice(0, MAX_SEEDS);
    const known = new Map([...seeds, ...dislikes].map((s) => [s.id, s]));
    const entry = (id) => known.get(id) || { id, name: id, artists: '' };
    seeds = ids('seeds').map(entry);
    dislikes = ids('dislikes').filter((id) => !seeds.some((s) => s.id === id)).map(entry);
    const setNum = (id, key) => {
      if (p.has(key) && p.get(key) !== '' && Number.isFinite(Number(p.get(key)))) {
        $('#' + id).value = p.get(key);
        $('#' + id).dispatchEvent(new Event('input'));
      }
    };
    setNum('k', 'k');
    setNum('diversity', 'div');
    setNum('novelty', 'nov');
    setNum('quality', 'qual');
    setNum('max-per-artist', 'mpa');
    $('#year-min').value = p.has('ymin') ? p.get('ymin') : '';
    $('#year-max').value = p.has('ymax') ? p.get('ymax') : '';
    genres = [];
    for (const g of (p.get('genres') || '').split(',')) addGenre(g);
    renderGenres();
    const mood = new Map((p.get('mood') || '').split(',').map((x) => x.split(':')).filter((x) => x.length === 2 && MOODS.includes(x[0]))
      .map(([k, v]) => [k, Number(v)]));
    for (const m of MOODS) {
      const on = $(`#mood-${m}-on`);
      on.checked = mood.has(m) && Number.isFinite(mood.get(m));
      on.dispatchEvent(new Event('change'));
      if (on.checked) {
        $(`#mood-${m}`).value = mood.get(m);
        $(`#mood-${m}`).dispatchEvent(new Event('input'));
      }
    }
    modelPicker.wanted = p.get('model') || '';
    saveSeeds();
    renderSeeds();
    return seeds.length > 0 || mood.size > 0;
  }

  let recommendSeq = 0;

  async function recommend(ev) {
    if (ev) ev.preventDefault();
    clearMessages('discover'); // earlier problems are stale once the listener tries again
    let body;
    try {
      body = buildRequest();
    } catch (e) {
      showMessage('discover', 'error', 'Cannot recommend yet', e.message);
      return;
    }
    writeUrl(body);
    const seq = ++recommendSeq;
    const btn = $('#recommend');
    btn.disabled = true;
    btn.replaceChildren(el('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Recommending…');
    $('#results').setAttribute('aria-busy', 'true');
    try {
      // The listener's id goes with the request (not into the URL: a shared
      // link must not make its reader someone else).
      const data = await api('/api/recommend', { method: 'POST', body: { ...body, user_id: listener.id } });
      if (seq !== recommendSeq) return;
      lastRecommendation = { data, title: 'Recommendations' };
      renderResults(data, 'Recommendations', false);
      // On one-column layouts the results are below the form: bring them into view.
      const top = $('#results-title').getBoundingClientRect().top;
      if (top > window.innerHeight * 0.8 || top < 0) $('#results-title').scrollIntoView({ block: 'start' });
    } catch (e) {
      if (seq === recommendSeq) showError('discover', e, 'Recommendation failed');
    } finally {
      if (seq === recommendSeq) {
        btn.disabled = false;
        btn.textContent = 'Recommend';
        $('#results').removeAttribute('aria-busy');
      }
    }
  }

  async function similar(track) {
    const seq = ++recommendSeq;
    $('#results').setAttribute('aria-busy', 'true');
    try {
      const data = await api(`/api/similar/${encodeURIComponent(track.id)}?k=10`);
      if (seq !== recommendSeq) return;
      renderResults(data, `Similar to ${track.name || track.id}`, true);
      $('#results-title').scrollIntoView({ block: 'start', behavior: 'smooth' });
    } catch (e) {
      if (seq === recommendSeq) showError('discover', e, 'Similar tracks failed');
    } finally {
      if (seq === recommendSeq) $('#results').removeAttribute('aria-busy');
    }
  }

  let lastShown = null; // {data, title, list} of the list on screen

  /* "you are in experiment X (variant Y)", linked to its report. */
  function experimentTag(x) {
    if (!x || typeof x.name !== 'string' || !x.name) return '';
    return el('span', { class: 'exp-tag' }, ' · you are in experiment ',
      el('a', { href: `#/experiments?name=${encodeURIComponent(x.name)}` }, x.name),
      typeof x.variant === 'string' && x.variant ? ` (${x.variant})` : '');
  }

  function trackCard(t, i, list) {
    const rank = isNum(t.rank) ? t.rank : i + 1;
    const reasons = typeof t.reasons === 'string' ? t.reasons.trim() : listText(t.reasons);
    const name = t.name || t.id;
    const track = { id: t.id, name, artists: t.artists };
    const liked = seeds.some((s) => s.id === t.id);
    const disliked = dislikes.some((s) => s.id === t.id);
    return el('li', { class: `card${disliked ? ' disliked' : ''}`, dataset: { id: t.id } },
      el('div', { class: 'rank', 'aria-label': `Rank ${rank}` }, String(rank)),
      el('div', null,
        el('h3', { class: 'card-title' }, name),
        el('div', { class: 'card-artists' }, listText(t.artists) || 'Unknown artist')),
      el('div', { class: 'score', title: 'Score: see “How is this chosen?”' }, el('b', null, isNum(t.score) ? t.score.toFixed(3) : '–'), 'score'),
      el('p', { class: 'reasons' }, reasons || 'No reason given.'),
      el('div', { class: 'card-actions' },
        el('button', { type: 'button', class: 'btn btn-sm play', 'aria-label': `Play ${name} here`,
          onclick: () => playHere(t.id, name, list, i) }, '▶ Play'),
        el('button', { type: 'button', class: 'btn btn-sm like', dataset: { likeId: t.id }, 'aria-pressed': liked ? 'true' : 'false',
          'aria-label': `Like ${name}: add it to the seeds`, title: 'Like: add to the seeds',
          onclick: () => {
            if (seeds.some((s) => s.id === t.id)) {
              removeSeed(t.id);
            } else if (addSeed(track)) {
              logEvent('like', list, t.id, i);
            }
          } }, 'Like'),
        el('button', { type: 'button', class: 'btn btn-sm dislike', dataset: { dislikeId: t.id }, 'aria-pressed': disliked ? 'true' : 'false',
          'aria-label': `Dislike ${name}: keep it and its sound out of the next list`, title: 'Dislike: not in the next list',
          onclick: () => {
            if (dislikes.some((s) => s.id === t.id)) {
              removeDislike(t.id);
            } else if (addDislike(track)) {
              leavePlaying(t.id); // disliked while it plays: passed over too
              logEvent('dislike', list, t.id, i);
            }
          } }, 'Dislike'),
        el('a', { class: 'btn btn-sm spotify', href: spotifyUrl(t.id), target: '_blank', rel: 'noopener noreferrer',
          onclick: () => logPlay(list, t.id, i, false),
          onauxclick: (ev) => { if (ev.button === 1) logPlay(list, t.id, i, false); } },
          'Open in Spotify', el('span', { class: 'visually-hidden' }, ' (opens in a new tab)')),
        el('button', { type: 'button', class: 'btn btn-sm similar', 'aria-label': `Tracks similar to ${name}`,
          onclick: () => similar({ id: t.id, name }) }, 'Similar'),
        el('button', { type: 'button', class: 'btn btn-sm on-map', 'aria-label': `Show ${name} on the map`,
          onclick: () => {
            const list = resultTracks().map((x) => x.id);
            showOnMap(list, lastShown ? lastShown.title.toLowerCase() : 'the list', t.id);
          } }, 'On map')));
  }

  function renderResults(data, title, isSimilar) {
    const tracks = Array.isArray(data && data.tracks) ? data.tracks : [];
    // The same answer shown again (back from "Similar") is the same list.
    const list = lastShown && lastShown.data === data ? lastShown.list : eventList(data);
    lastShown = { data, title, list };
    $('#results-title').textContent = title;
    const meta = $('#results-meta');
    meta.replaceChildren(
      data.model ? `model ${data.model}` : '',
      data.model && data.request_id ? ' · ' : '',
      data.request_id ? el('span', { class: 'request-id' }, 'request id ', el('code', null, data.request_id)) : '',
      experimentTag(data.experiment),
      isSimilar && lastRecommendation ? el('button', { type: 'button', class: 'btn btn-link', onclick: () => {
        ++recommendSeq;
        renderResults(lastRecommendation.data, lastRecommendation.title, false);
      } }, '← back to recommendations') : '');
    const note = $('#results-note');
    // One line: why fewer came back, and what was set aside (a seed the
    // catalogue does not have).
    const warn = data.shortfall ? [`Fewer than asked: ${data.shortfall}`] : [];
    if (Array.isArray(data.warnings)) warn.push(...data.warnings.filter((w) => typeof w === 'string'));
    note.hidden = !warn.length;
    note.textContent = warn.join(' · ');
    // And one quieter line for what the answer notes about how it was
    // made (e.g. only playlist co-occurrence for seeds without audio features).
    const notes = Array.isArray(data.notes) ? data.notes.filter((w) => typeof w === 'string' && w) : [];
    const quiet = $('#results-notes');
    quiet.hidden = !notes.length;
    quiet.textContent = notes.join(' · ');
    $('#results').replaceChildren(...tracks.map((t, i) => trackCard(t, i, list)));
    $('#export').hidden = tracks.length === 0;
    if (!$('#uris-box').hidden) $('#uris').value = urisText(resultTracks());
    const empty = $('#results-empty');
    empty.hidden = tracks.length > 0;
    empty.firstElementChild.textContent = tracks.length ? '' : 'No tracks came back. Try other seeds, a looser mood, fewer filters, or a higher max per artist.';
  }

  // The model picker lists the recommenders the server offers (GET
  // /api/models, taken from its registry), each with its description; until
  // they come, or if they cannot, it offers the server's default alone.
  const modelPicker = { defaultName: '', descriptions: {}, wanted: '' };

  function showModelHint() {
    $('#model-hint').textContent = modelPicker.descriptions[$('#model').value] || '';
  }

  async function loadModelPicker() {
    let data;
    try {
      data = await api('/api/models');
    } catch (e) {
      return; // the picker keeps the server's default; the Models page reports the failure
    }
    const list = (Array.isArray(data && data.recommenders) ? data.recommenders : [])
      .filter((r) => r && typeof r.name === 'string' && r.name);
    if (!list.length) return;
    const has = (name) => list.some((r) => r.name === name);
    modelPicker.defaultName = has(data.default_recommender) ? data.default_recommender : list[0].name;
    // The re-ranking knobs the server applies when a request sets none
    // (tuned on validation): knobs still at the page's own defaults move to them.
    const rd = data.rerank_defaults;
    if (rd && typeof rd === 'object') {
      const knobs = [['diversity', 'diversity'], ['novelty', 'novelty'], ['max-per-artist', 'maxPerArtist']];
      for (const [id, key] of knobs) {
        const key2 = key === 'maxPerArtist' ? 'max_per_artist' : key;
        if (typeof rd[key2] !== 'number') continue;
        const input = $('#' + id);
        if (input && Number(input.value) === Number(DEFAULTS[key])) {
          input.value = rd[key2];
          input.dispatchEvent(new Event('input'));
        }
        DEFAULTS[key] = rd[key2];
      }
    }
    modelPicker.descriptions = {};
    for (const r of list) modelPicker.descriptions[r.name] = typeof r.description === 'string' ? r.description : '';
    const select = $('#model');
    // A model named by the URL wins over the default.
    const chosen = has(modelPicker.wanted) ? modelPicker.wanted : has(select.value) ? select.value : modelPicker.defaultName;
    select.replaceChildren(...list.map((r) => el('option', { value: r.name }, r.name)));
    select.value = chosen;
    showModelHint();
  }

  function initDiscover() {
    buildMoods();
    bindRange('diversity', 2);
    bindRange('novelty', 2);
    bindRange('quality', 2);
    loadSeeds();
    const params = urlParams();
    const ask = params ? applyUrlState(params) : false;
    renderSeeds();
    renderGenres();
    nameChips();
    const search = $('#search');
    search.addEventListener('input', () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(runSearch, 250);
    });
    search.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') {
        ev.preventDefault();
        runSearch();
      }
    });
    const gi = $('#genre-input');
    gi.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') {
        ev.preventDefault();
        addGenre(gi.value);
        gi.value = '';
      }
    });
    // Picking from the list adds at once.
    gi.addEventListener('change', () => {
      if ($$('#genre-list option').some((o) => o.value === gi.value.trim().toLowerCase())) {
        addGenre(gi.value);
        gi.value = '';
      }
    });
    $('#rec-form').addEventListener('submit', recommend);
    $('#reset').addEventListener('click', resetKnobs);
    $('#model').addEventListener('change', showModelHint);
    initExport();
    loadGenreList();
    // A request named by the URL is asked again once the model picker knows its model.
    loadModelPicker().then(() => { if (ask) recommend(); });
    for (const id of ['k', 'max-per-artist', 'year-min', 'year-max']) $('#' + id).addEventListener('input', (ev) => ev.target.removeAttribute('aria-invalid'));
  }

  // ---------------------------------------------------------------------------
  // Explore

  /* Parses an SVG document and keeps only drawing: no scripts, no event
   * handlers, no external references. */
  function safeSvg(text) {
    const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
    const root = doc.documentElement;
    if (!root || root.localName !== 'svg' || doc.getElementsByTagName('parsererror').length) {
      throw new Error('the chart is not a valid SVG document');
    }
    for (const bad of Array.from(root.querySelectorAll('script, foreignObject, iframe, object, embed'))) bad.remove();
    for (const node of [root, ...root.querySelectorAll('*')]) {
      for (const a of Array.from(node.attributes)) {
        const n = a.name.toLowerCase();
        const v = a.value.trim().toLowerCase();
        if (n.startsWith('on')) node.removeAttribute(a.name);
        else if ((n === 'href' || n === 'xlink:href') && !v.startsWith('#')) node.removeAttribute(a.name);
      }
    }
    return root;
  }

  /* A sanitised chart into box: inline, or as an image when it has ids
   * (which could clash between inline charts). */
  function placeSvg(box, svg, label) {
    if (svg.querySelector('[id]')) {
      const url = URL.createObjectURL(new Blob([new XMLSerializer().serializeToString(svg)], { type: 'image/svg+xml' }));
      const img = el('img', { alt: label, src: url });
      img.addEventListener('load', () => URL.revokeObjectURL(url), { once: true });
      box.replaceChildren(img);
    } else {
      const node = document.importNode(svg, true);
      node.setAttribute('role', 'img');
      node.setAttribute('aria-label', label);
      node.removeAttribute('height');
      node.setAttribute('width', '100%');
      box.replaceChildren(node);
    }
  }

  async function loadChart(chart, box) {
    box.dataset.state = 'loading';
    box.replaceChildren(el('span', { class: 'loading' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Loading chart…'));
    try {
      const text = await apiText(`/api/charts/${encodeURIComponent(chart.name)}.svg`);
      const svg = safeSvg(text);
      placeSvg(box, svg, chart.title || chart.name);
      // Wide charts (correlation matrix, genre profiles) get a row of their own.
      const vb = (svg.getAttribute('viewBox') || '').trim().split(/[\s,]+/).map(Number);
      const fig = box.closest('.chart');
      if (fig) {
        fig.classList.toggle('wide', vb.length === 4 && vb[2] >= 600);
        // The chart draws its own title: keep the heading for screen readers only.
        fig.classList.toggle('titled', !!svg.querySelector(':scope > title, :scope > text'));
      }
      box.classList.remove('error');
      box.dataset.state = 'ok';
    } catch (e) {
      box.classList.add('error');
      box.dataset.state = 'error';
      const msg = e instanceof ApiError ? `${e.message}${e.detail ? ': ' + e.detail : ''}` : e.message;
      box.replaceChildren(el('div', null, el('p', null, `Could not load this chart. ${msg}`),
        el('button', { type: 'button', class: 'btn btn-sm', onclick: () => loadChart(chart, box) }, 'Retry')));
      throw e;
    }
  }

  async function copyText(text, button) {
    let ok = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        ok = true;
      }
    } catch (e) {
      ok = false;
    }
    if (!ok) {
      // Fallback for plain-http hosts: a hidden textarea and execCommand.
      const ta = el('textarea', { readonly: true, style: 'position:fixed;top:-1000px;opacity:0' });
      ta.value = text;
      document.body.append(ta);
      ta.select();
      try {
        ok = document.execCommand('copy');
      } catch (e) {
        ok = false;
      }
      ta.remove();
    }
    const old = button.dataset.label || button.textContent;
    button.dataset.label = old;
    button.textContent = ok ? 'Copied' : 'Copy failed';
    setTimeout(() => { button.textContent = old; }, 1500);
  }

  function renderOverview(ov, synthetic) {
    const box = $('#overview');
    const items = [];
    if (ov && typeof ov === 'object') {
      for (const [k, v] of Object.entries(ov)) {
        if (isNum(v)) items.push(el('div', { class: 'stat' }, el('b', null, fmt(v)), el('span', null, humanize(k))));
        else if (typeof v === 'boolean') items.push(el('div', { class: 'stat flag' }, el('b', null, v ? 'yes' : 'no'), el('span', null, humanize(k))));
      }
    }
    if (synthetic === true && !(ov && 'synthetic' in ov)) {
      items.push(el('div', { class: 'stat flag' }, el('b', null, 'synthetic'), el('span', null, 'demo catalogue')));
    }
    box.replaceChildren(...items);
    box.hidden = items.length === 0;
  }

  /* The EDA findings (summary "findings": {kind, sentence, numbers}), each a
   * sentence computed from the data, in a panel under the counts. The panel
   * is made here so that the page's markup needs no change. */
  function renderFindings(list) {
    let box = $('#findings');
    if (!box) {
      box = el('section', { id: 'findings', class: 'panel findings', 'aria-labelledby': 'findings-title' });
      $('#overview').after(box);
    }
    const items = Array.isArray(list) ? list.filter((f) => f && typeof f.sentence === 'string') : [];
    box.replaceChildren(el('h2', { id: 'findings-title', class: 'panel-title' }, 'Findings'),
      el('ul', null, items.map((f) => el('li', { dataset: { kind: String(f.kind || '') } }, f.sentence))));
    box.hidden = items.length === 0;
  }

  async function loadExplore() {
    setState('explore', 'loading');
    const charts = $('#charts');
    charts.replaceChildren(el('p', { class: 'meta' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Loading the summary…'));
    let data;
    try {
      data = await api('/api/eda/summary');
    } catch (e) {
      charts.replaceChildren(el('div', { class: 'empty' }, el('p', null, 'The summary could not be loaded. '),
        el('button', { type: 'button', class: 'btn btn-sm', onclick: () => { clearMessages('explore'); reload('explore'); } }, 'Retry')));
      throw e;
    }
    renderOverview(data.overview || data.counts, data.synthetic);
    renderFindings(data.findings);
    const list = Array.isArray(data.charts) ? data.charts.filter((c) => c && typeof c.name === 'string') : [];
    $('#chart-count').textContent = `${list.length} chart${list.length === 1 ? '' : 's'}`;
    if (!list.length) {
      charts.replaceChildren(el('div', { class: 'empty' }, el('p', null, 'No charts yet: ingest a catalogue first.')));
      setState('explore', 'ready');
      return;
    }
    const jobs = [];
    charts.replaceChildren(...list.map((c, i) => {
      const box = el('div', { class: 'chart-box' });
      const codeId = `sql-${i}`;
      const fig = el('figure', { class: 'panel chart', dataset: { name: c.name, title: (c.title || c.name).toLowerCase() } },
        el('h3', null, c.title || humanize(c.name)),
        box,
        c.sql ? el('details', { class: 'sql' },
          el('summary', null, 'SQL'),
          el('div', { class: 'sql-body' },
            el('button', { type: 'button', class: 'btn btn-sm copy', 'aria-label': `Copy the SQL of ${c.title || c.name}`,
              onclick: (ev) => copyText(c.sql, ev.currentTarget) }, 'Copy'),
            el('pre', null, el('code', { id: codeId }, c.sql)))) : null);
      jobs.push(() => loadChart(c, box));
      return fig;
    }));
    applyChartFilter();
    // Four charts at a time.
    const failures = [];
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const job = jobs[next++];
        try {
          await job();
        } catch (e) {
          failures.push(e);
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    if (failures.length) {
      showError('explore', failures[0], `${failures.length} chart${failures.length === 1 ? '' : 's'} could not be loaded`);
      setState('explore', 'error');
    } else {
      setState('explore', 'ready');
    }
  }

  function applyChartFilter() {
    const q = $('#chart-filter').value.trim().toLowerCase();
    let shown = 0;
    const all = $$('#charts .chart');
    for (const f of all) {
      const hit = !q || f.dataset.title.includes(q) || f.dataset.name.includes(q);
      f.hidden = !hit;
      if (hit) shown++;
    }
    if (all.length) $('#chart-count').textContent = q ? `${shown} of ${all.length} charts` : `${all.length} charts`;
  }

  function reload(page) {
    const load = { explore: loadExplore, map: loadMap, models: loadModels, experiments: loadExperiments, runs: loadRuns }[page];
    loaded[page] = true;
    load().catch((e) => {
      loaded[page] = false;
      setState(page, 'error');
      showError(page, e);
    });
  }

  // ---------------------------------------------------------------------------
  // Map

  const PALETTE = ['#3b6fb6', '#e8833a', '#3a9d5d', '#d64550', '#8a63c4', '#2fa4a9', '#c9a227', '#d45fa0',
    '#6b8e23', '#7f6a5a', '#5a9bd5', '#b0413e', '#4d5bd6', '#b58a00', '#239b8f', '#9c4f96'];
  function clusterColor(k) {
    if (k >= 0 && k < PALETTE.length) return PALETTE[k];
    const h = Math.round((k * 137.508) % 360);
    return `hsl(${h} 55% 48%)`;
  }

  // The map draws every point into an ImageData buffer (a few pixels per
  // point, no path per point), so a redraw of ~100k points for a pan or a
  // zoom takes a few milliseconds; rings and the cursor are drawn over it.
  // A uniform grid over the map's unit square finds the point under the
  // pointer by looking at the few cells around it.
  const MAP_PAD = 10;
  const GRID = 128;
  const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  const colorCache = new Map();
  let colorProbe = null;

  /* Any CSS colour as [r, g, b], through a 1x1 canvas. */
  function cssRgb(color) {
    if (colorCache.has(color)) return colorCache.get(color);
    if (!colorProbe) {
      const c = document.createElement('canvas');
      c.width = c.height = 1;
      colorProbe = c.getContext('2d', { willReadFrequently: true });
    }
    colorProbe.clearRect(0, 0, 1, 1);
    colorProbe.fillStyle = '#000';
    colorProbe.fillStyle = color;
    colorProbe.fillRect(0, 0, 1, 1);
    const d = colorProbe.getImageData(0, 0, 1, 1).data;
    const rgb = [d[0], d[1], d[2]];
    colorCache.set(color, rgb);
    return rgb;
  }

  function packRgb([r, g, b]) {
    return LITTLE_ENDIAN ? ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | 255) >>> 0;
  }

  function mixRgb(a, b, t) {
    return [0, 1, 2].map((i) => Math.round(a[i] * (1 - t) + b[i] * t));
  }

  const canHover = () => !!(window.matchMedia && matchMedia('(hover: hover) and (pointer: fine)').matches);

  const mapView = {
    n: 0,
    u: null,          // Float32Array: x in 0..1
    v: null,          // Float32Array: y in 0..1 (up)
    cl: null,         // Int32Array: cluster per point
    ids: [],          // Spotify id per point
    idToPoint: new Map(),
    clusters: [],     // [{cluster, description, tracks}]
    hidden: new Set(),
    shownCounts: new Map(),
    version: '',
    bytes: 0,
    w: 0, h: 0, dpr: 1,
    view: { k: 1, ox: 0, oy: 0 }, // zoom, and the unit-square point at the left/bottom edge
    selected: -1,
    neighbours: [],   // point indices
    highlight: [],    // point indices of the list shown on the map
    highlightLabel: '',
    hover: -1,
    cursor: null,     // keyboard cursor [x, y] in CSS px
    focused: false,
    seq: 0,
    image: null,
    pixels: null,
    frame: 0,
    lastDrawMs: 0,
    cellStart: null,
    cellItems: null,

    canvas() { return $('#map-canvas'); },

    load(data) {
      const d = data && typeof data === 'object' ? data : {};
      const xs = Array.isArray(d.x) ? d.x : [];
      const ys = Array.isArray(d.y) ? d.y : [];
      const cs = Array.isArray(d.cluster) ? d.cluster : [];
      const ids = typeof d.ids === 'string' && d.ids ? d.ids.split(' ') : [];
      const scale = isNum(d.scale) && d.scale > 0 ? d.scale : 65535;
      const n = Math.min(xs.length, ys.length);
      this.u = new Float32Array(n);
      this.v = new Float32Array(n);
      this.cl = new Int32Array(n);
      this.idToPoint = new Map();
      for (let i = 0; i < n; i++) {
        this.u[i] = xs[i] / scale;
        this.v[i] = ys[i] / scale;
        this.cl[i] = isNum(cs[i]) ? cs[i] : -1;
        const id = ids[i];
        if (id && !this.idToPoint.has(id)) this.idToPoint.set(id, i);
      }
      this.n = n;
      this.ids = ids;
      this.version = typeof d.version === 'string' ? d.version : '';
      const cls = Array.isArray(d.clusters) ? d.clusters.filter((c) => c && isNum(c.cluster)) : [];
      // Clusters that appear in the points but not in the list still get a legend entry.
      const known = new Set(cls.map((c) => c.cluster));
      const counts = new Map();
      for (let i = 0; i < n; i++) counts.set(this.cl[i], (counts.get(this.cl[i]) || 0) + 1);
      for (const k of counts.keys()) if (!known.has(k)) cls.push({ cluster: k, description: '', tracks: counts.get(k) });
      cls.sort((a, b) => a.cluster - b.cluster);
      this.clusters = cls;
      this.shownCounts = counts;
      this.buildGrid();
      this.selected = -1;
      this.neighbours = [];
      this.hover = -1;
      this.view = { k: 1, ox: 0, oy: 0 };
    },

    /* Counting sort of the points into GRID x GRID cells of the unit square. */
    buildGrid() {
      const cells = GRID * GRID;
      const start = new Int32Array(cells + 1);
      const cellOf = new Int32Array(this.n);
      for (let i = 0; i < this.n; i++) {
        const cx = Math.min(GRID - 1, Math.max(0, Math.floor(this.u[i] * GRID)));
        const cy = Math.min(GRID - 1, Math.max(0, Math.floor(this.v[i] * GRID)));
        cellOf[i] = cy * GRID + cx;
        start[cellOf[i] + 1]++;
      }
      for (let c = 0; c < cells; c++) start[c + 1] += start[c];
      const fill = start.slice(0, cells);
      const items = new Int32Array(this.n);
      for (let i = 0; i < this.n; i++) items[fill[cellOf[i]]++] = i;
      this.cellStart = start;
      this.cellItems = items;
    },

    resize() {
      const c = this.canvas();
      const wrap = $('#map-wrap');
      const r = wrap.getBoundingClientRect();
      if (r.width < 1 || r.height < 1) return; // hidden
      const dpr = window.devicePixelRatio || 1;
      this.w = r.width;
      this.h = r.height;
      const W = Math.max(1, Math.round(r.width * dpr));
      const H = Math.max(1, Math.round(r.height * dpr));
      if (c.width !== W || c.height !== H) {
        c.width = W;
        c.height = H;
      }
      this.dpr = dpr;
      this.draw();
    },

    // Screen (CSS px) <-> unit square.
    sx(u) { return MAP_PAD + (u - this.view.ox) * this.view.k * (this.w - 2 * MAP_PAD); },
    sy(v) { return this.h - MAP_PAD - (v - this.view.oy) * this.view.k * (this.h - 2 * MAP_PAD); },
    ux(x) { return this.view.ox + (x - MAP_PAD) / (this.view.k * (this.w - 2 * MAP_PAD)); },
    vy(y) { return this.view.oy + (this.h - MAP_PAD - y) / (this.view.k * (this.h - 2 * MAP_PAD)); },

    /* Keeps part of the map in view whatever the pan. */
    clampView() {
      const k = this.view.k;
      const lo = -0.5 / k, hi = 1 - 0.5 / k;
      this.view.ox = Math.min(hi, Math.max(lo, this.view.ox));
      this.view.oy = Math.min(hi, Math.max(lo, this.view.oy));
    },

    /* Zooms by `factor` keeping the map point under (x, y) (CSS px) in place. */
    zoomAt(factor, x, y) {
      if (!this.w) return;
      const u = this.ux(x), v = this.vy(y);
      const k = Math.min(512, Math.max(1, this.view.k * factor));
      this.view.k = k;
      this.view.ox = u - (x - MAP_PAD) / (k * (this.w - 2 * MAP_PAD));
      this.view.oy = v - (this.h - MAP_PAD - y) / (k * (this.h - 2 * MAP_PAD));
      if (k === 1) { this.view.ox = 0; this.view.oy = 0; }
      this.clampView();
      this.schedule();
    },

    panBy(dx, dy) {
      if (!this.w) return;
      this.view.ox -= dx / (this.view.k * (this.w - 2 * MAP_PAD));
      this.view.oy += dy / (this.view.k * (this.h - 2 * MAP_PAD));
      this.clampView();
      this.schedule();
    },

    /* Zoom and pan so that point i is in the middle, at least at zoom k. */
    centreOn(i, k) {
      if (i < 0 || i >= this.n || !this.w) return;
      this.view.k = Math.max(this.view.k, k || 1);
      const kk = this.view.k;
      this.view.ox = this.u[i] - 0.5 / kk;
      this.view.oy = this.v[i] - 0.5 / kk;
      this.clampView();
      this.schedule();
    },

    resetView() {
      this.view = { k: 1, ox: 0, oy: 0 };
      this.schedule();
    },

    /* One redraw per animation frame, however many events asked for it. */
    schedule() {
      if (this.frame) return;
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.draw();
      });
    },

    draw() {
      const t0 = performance.now();
      const c = this.canvas();
      const ctx = c.getContext('2d');
      if (!ctx || !this.w) return;
      const css = getComputedStyle(document.documentElement);
      const bg = css.getPropertyValue('--surface').trim() || '#fff';
      const text = css.getPropertyValue('--text').trim() || '#000';
      const accent = css.getPropertyValue('--accent').trim() || '#36c';
      const W = c.width, H = c.height;
      if (!this.image || this.image.width !== W || this.image.height !== H) {
        this.image = ctx.createImageData(W, H);
        this.pixels = new Uint32Array(this.image.data.buffer);
      }
      const px = this.pixels;
      const bgRgb = cssRgb(bg);
      px.fill(packRgb(bgRgb));
      if (this.n) {
        // Points get bigger as the map zooms in, up to 3x.
        const base = this.n > 50000 ? 0.8 : this.n > 20000 ? 1 : this.n > 5000 ? 1.4 : 2;
        const size = Math.max(1, Math.round(2 * base * this.dpr * Math.min(3, 1 + 0.45 * Math.log2(this.view.k))));
        const half = size >> 1;
        const dim = this.selected >= 0 || this.highlight.length > 0;
        const colors = new Map();
        for (const cl of this.clusters) {
          const rgb = cssRgb(clusterColor(cl.cluster));
          colors.set(cl.cluster, this.hidden.has(cl.cluster) ? 0 : packRgb(dim ? mixRgb(rgb, bgRgb, 0.6) : mixRgb(rgb, bgRgb, 0.15)));
        }
        // Indexed by cluster + 1: a point with no cluster (-1) has its own entry.
        const colorOf = new Uint32Array(this.clusters.length ? Math.max(...this.clusters.map((x) => x.cluster)) + 2 : 1);
        for (const [k, v] of colors) if (k + 1 >= 0 && k + 1 < colorOf.length) colorOf[k + 1] = v;
        const kw = this.view.k * (this.w - 2 * MAP_PAD) * this.dpr;
        const kh = this.view.k * (this.h - 2 * MAP_PAD) * this.dpr;
        const bx = (MAP_PAD - this.view.ox * this.view.k * (this.w - 2 * MAP_PAD)) * this.dpr - half;
        const by = (this.h - MAP_PAD + this.view.oy * this.view.k * (this.h - 2 * MAP_PAD)) * this.dpr - half;
        const u = this.u, v = this.v, cl = this.cl;
        for (let i = 0; i < this.n; i++) {
          const k = cl[i] + 1;
          const col = k >= 0 && k < colorOf.length ? colorOf[k] : 0;
          if (!col) continue;
          const x = (u[i] * kw + bx) | 0;
          const y = (by - v[i] * kh) | 0;
          if (x < 0 || y < 0 || x + size > W || y + size > H) continue;
          let o = y * W + x;
          for (let r = 0; r < size; r++, o += W) for (let s = 0; s < size; s++) px[o + s] = col;
        }
      }
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.putImageData(this.image, 0, 0);
      ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
      if (!this.n) {
        ctx.fillStyle = text;
        ctx.font = '14px system-ui, sans-serif';
        ctx.textAlign = 'center';
        ctx.fillText('No points to show', this.w / 2, this.h / 2);
        this.lastDrawMs = performance.now() - t0;
        return;
      }
      const ring = (i, rad, color, width) => {
        if (this.hidden.has(this.cl[i])) return;
        const x = this.sx(this.u[i]), y = this.sy(this.v[i]);
        if (x < -rad || y < -rad || x > this.w + rad || y > this.h + rad) return;
        ctx.beginPath();
        ctx.arc(x, y, rad, 0, 2 * Math.PI);
        ctx.fillStyle = clusterColor(this.cl[i]);
        ctx.fill();
        ctx.lineWidth = width;
        ctx.strokeStyle = color;
        ctx.stroke();
      };
      for (const i of this.highlight) ring(i, 4, text, 1.5);
      for (const i of this.neighbours) ring(i, 4.5, accent, 2);
      if (this.hover >= 0) ring(this.hover, 5, text, 1.5);
      if (this.selected >= 0) {
        ring(this.selected, 7, bg, 4);
        ring(this.selected, 7, text, 2);
      }
      if (this.focused && this.cursor) {
        const [x, y] = this.cursor;
        ctx.strokeStyle = accent;
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(x - 10, y); ctx.lineTo(x + 10, y);
        ctx.moveTo(x, y - 10); ctx.lineTo(x, y + 10);
        ctx.stroke();
      }
      $('#map-zoom-level').textContent = `${this.view.k < 10 ? this.view.k.toFixed(1) : Math.round(this.view.k)}×`;
      this.lastDrawMs = performance.now() - t0;
    },

    /* The visible point nearest to (x, y) in CSS px within maxDist px (the
     * grid cells around it only), or -1. With no maxDist, every point. */
    nearest(x, y, maxDist) {
      if (!this.n || !this.w) return -1;
      const kw = this.view.k * (this.w - 2 * MAP_PAD), kh = this.view.k * (this.h - 2 * MAP_PAD);
      const u = this.ux(x), v = this.vy(y);
      let best = -1;
      let bd = maxDist === undefined ? Infinity : maxDist * maxDist;
      const test = (i) => {
        if (this.hidden.has(this.cl[i])) return;
        const dx = (this.u[i] - u) * kw, dy = (this.v[i] - v) * kh;
        const d = dx * dx + dy * dy;
        if (d < bd) { bd = d; best = i; }
      };
      if (maxDist === undefined) {
        for (let i = 0; i < this.n; i++) test(i);
        return best;
      }
      const ru = maxDist / kw, rv = maxDist / kh;
      const c0 = Math.max(0, Math.floor((u - ru) * GRID)), c1 = Math.min(GRID - 1, Math.floor((u + ru) * GRID));
      const r0 = Math.max(0, Math.floor((v - rv) * GRID)), r1 = Math.min(GRID - 1, Math.floor((v + rv) * GRID));
      for (let r = r0; r <= r1; r++) {
        for (let c = c0; c <= c1; c++) {
          const cell = r * GRID + c;
          for (let j = this.cellStart[cell]; j < this.cellStart[cell + 1]; j++) test(this.cellItems[j]);
        }
      }
      return best;
    },

    clusterLabel(k) {
      const c = this.clusters.find((x) => x.cluster === k);
      return c && c.description ? `cluster ${k}: ${c.description}` : `cluster ${k}`;
    },
  };

  // Names of hovered points, asked for one at a time and kept.
  const trackNames = new Map(); // id -> "title - artist"
  let tipTimer = 0;
  let tipSeq = 0;

  function nameOf(t, id) {
    const artists = listText(t && t.artists);
    return `${(t && t.name) || id}${artists ? ` - ${artists}` : ''}`;
  }

  /* Shows the tip over point i naming its track ("title - artist"). */
  function showTip(i) {
    const tip = $('#map-tip');
    if (i < 0) {
      tip.hidden = true;
      if (mapView.hover !== -1) { mapView.hover = -1; mapView.schedule(); }
      return;
    }
    const x = mapView.sx(mapView.u[i]), y = mapView.sy(mapView.v[i]);
    const m = Math.min(125, mapView.w / 2); // the tip is at most 240 px wide, centred
    tip.style.left = `${Math.max(m, Math.min(mapView.w - m, x))}px`;
    tip.style.top = `${y}px`;
    tip.classList.toggle('below', y < 40);
    tip.hidden = false;
    if (mapView.hover !== i) { mapView.hover = i; mapView.schedule(); }
    const id = mapView.ids[i];
    if (!id) { tip.textContent = mapView.clusterLabel(mapView.cl[i]); return; }
    if (trackNames.has(id)) {
      tip.textContent = trackNames.get(id);
      tip.dataset.id = id;
      return;
    }
    tip.textContent = '…';
    delete tip.dataset.id;
    clearTimeout(tipTimer);
    const seq = ++tipSeq;
    tipTimer = setTimeout(async () => {
      let name;
      try {
        name = nameOf(await api(`/api/tracks/${encodeURIComponent(id)}`), id);
      } catch (e) {
        name = mapView.clusterLabel(mapView.cl[i]);
      }
      trackNames.set(id, name);
      if (seq === tipSeq && mapView.hover === i) {
        tip.textContent = name;
        tip.dataset.id = id;
      }
    }, 60);
  }

  function renderLegend() {
    const ul = $('#legend');
    ul.replaceChildren(...mapView.clusters.map((c) => {
      const color = clusterColor(c.cluster);
      const shown = mapView.shownCounts.get(c.cluster) || 0;
      const btn = el('button', { type: 'button', 'aria-pressed': mapView.hidden.has(c.cluster) ? 'false' : 'true',
        onclick: () => {
          if (mapView.hidden.has(c.cluster)) mapView.hidden.delete(c.cluster);
          else mapView.hidden.add(c.cluster);
          btn.setAttribute('aria-pressed', mapView.hidden.has(c.cluster) ? 'false' : 'true');
          mapView.draw();
        } },
      el('span', { class: 'swatch', style: `background:${color};border-color:${color}`, 'aria-hidden': 'true' }),
      el('span', null, el('b', null, `${c.cluster}`), ' ', c.description || 'no description',
        ' ', el('span', { class: 'count' }, `(${fmt(isNum(c.tracks) ? c.tracks : shown)} tracks${isNum(c.tracks) && shown !== c.tracks ? `, ${fmt(shown)} shown` : ''})`)));
      return el('li', null, btn);
    }));
  }

  function mapHint() {
    return canHover()
      ? 'Hover a dot to name its track; click to open it. Scroll or use + and − to zoom; drag to pan.'
      : 'Tap a dot to name and open its track. Pinch or use + and − to zoom; drag to pan.';
  }

  function renderMapMeta() {
    const meta = $('#map-meta');
    if (!mapView.n) {
      meta.textContent = 'The map is empty: train a model first (segue train).';
      return;
    }
    meta.replaceChildren(`${fmt(mapView.n)} tracks in ${mapView.clusters.length} clusters. `,
      el('span', { id: 'map-hint' }, mapHint()),
      mapView.highlight.length ? el('span', { class: 'map-hl' }, ` Ringed: ${mapView.highlight.length} tracks of ${mapView.highlightLabel}. `,
        el('button', { type: 'button', class: 'btn btn-link', onclick: () => {
          mapView.highlight = [];
          renderMapMeta();
          mapView.draw();
        } }, 'Clear')) : '');
  }

  async function loadMap() {
    setState('map', 'loading');
    $('#map-meta').replaceChildren(el('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Loading the map…');
    let data;
    try {
      data = await api('/api/map');
    } catch (e) {
      $('#map-meta').replaceChildren('The map could not be loaded. ',
        el('button', { type: 'button', class: 'btn btn-sm', onclick: () => { clearMessages('map'); reload('map'); } }, 'Retry'));
      throw e;
    }
    mapView.load(data);
    renderLegend();
    mapView.resize();
    applyMapRequest();
    renderMapMeta();
    setState('map', 'ready');
  }

  // What another page asked the map to show: a list to ring and a track to open.
  let mapRequest = null;

  function showOnMap(ids, label, select) {
    mapRequest = { ids, label, select };
    if (location.hash.startsWith('#/map')) applyMapRequest();
    else location.hash = '#/map';
  }

  function applyMapRequest() {
    if (!mapRequest || !mapView.n) return;
    const { ids, label, select } = mapRequest;
    mapRequest = null;
    mapView.highlight = ids.map((id) => mapView.idToPoint.get(id)).filter((i) => i !== undefined);
    mapView.highlightLabel = label;
    renderMapMeta();
    const target = select && mapView.idToPoint.has(select) ? select : null;
    if (target) {
      const i = mapView.idToPoint.get(target);
      mapView.centreOn(i, 4);
      selectTrack(target, i).catch((e) => showError('map', e));
    } else {
      mapView.draw();
    }
  }

  function featureRows(features) {
    const unit = ['danceability', 'energy', 'valence', 'acousticness', 'speechiness', 'instrumentalness', 'liveness'];
    const rows = [];
    const rest = [];
    const KEYS = ['C', 'C♯', 'D', 'D♯', 'E', 'F', 'F♯', 'G', 'G♯', 'A', 'A♯', 'B'];
    for (const [k, v] of Object.entries(features || {})) {
      if (unit.includes(k) && isNum(v)) {
        const pct = Math.max(0, Math.min(1, v)) * 100;
        rows.push(el('div', { class: 'feat' }, el('span', null, humanize(k)),
          el('span', { class: 'bar', role: 'meter', 'aria-label': humanize(k), 'aria-valuemin': 0, 'aria-valuemax': 1, 'aria-valuenow': v.toFixed(2) },
            el('i', { style: `width:${pct.toFixed(1)}%` })),
          el('span', { class: 'v' }, v.toFixed(2))));
      } else if (v !== null && v !== undefined) {
        let s = fmt(v);
        if (k === 'key' && Number.isInteger(v) && v >= 0 && v < 12) s = KEYS[v];
        else if (k === 'mode' && (v === 0 || v === 1)) s = v ? 'major' : 'minor';
        else if (k === 'loudness' && isNum(v)) s = `${v.toFixed(1)} dB`;
        else if (k === 'tempo' && isNum(v)) s = `${Math.round(v)} BPM`;
        else if (k === 'year' && isNum(v)) s = String(v);
        else if (k === 'duration_ms' && isNum(v)) {
          const sec = Math.round(v / 1000);
          s = `${Math.floor(sec / 60)}:${String(sec % 60).padStart(2, '0')}`;
        }
        rest.push([k === 'duration_ms' ? 'Duration' : humanize(k), s]);
      }
    }
    return { bars: rows, rest };
  }

  function kv(pairs) {
    return el('dl', { class: 'kv' }, pairs.filter((p) => p && p[1] !== null && p[1] !== undefined && p[1] !== '')
      .map(([k, v]) => [el('dt', null, k), el('dd', null, v)]));
  }

  async function selectTrack(id, pointIndex) {
    const seq = ++mapView.seq;
    mapView.selected = pointIndex === undefined ? (mapView.idToPoint.has(id) ? mapView.idToPoint.get(id) : -1) : pointIndex;
    mapView.neighbours = [];
    mapView.draw();
    const side = $('#side-body');
    side.replaceChildren(el('p', { class: 'meta' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Loading the track…'));
    const [tr, sim] = await Promise.allSettled([
      api(`/api/tracks/${encodeURIComponent(id)}`),
      api(`/api/similar/${encodeURIComponent(id)}?k=8`),
    ]);
    if (seq !== mapView.seq) return;
    const parts = [];
    if (tr.status === 'fulfilled') {
      const t = tr.value || {};
      const f = featureRows(t.features);
      parts.push(el('h3', { class: 'side-track-title' }, t.name || id),
        el('div', { class: 'card-artists' }, listText(t.artists) || 'Unknown artist'),
        el('div', { class: 'side-actions' },
          el('a', { class: 'btn btn-sm spotify', href: spotifyUrl(t.id || id), target: '_blank', rel: 'noopener noreferrer' }, 'Open in Spotify'),
          seedButton({ id: t.id || id, name: t.name || id, artists: t.artists })),
        kv([
          ['Genres', listText(t.genres) || '–'],
          ['Popularity', isNum(t.popularity) ? String(t.popularity) : '–'],
          isNum(t.predicted_popularity) ? ['Predicted', fmt(t.predicted_popularity, 1)] : null,
          t.cluster ? ['Cluster', `${t.cluster.id}: ${t.cluster.description || ''}`] : (mapView.selected >= 0 ? ['Cluster', mapView.clusterLabel(mapView.cl[mapView.selected])] : null),
          ...f.rest,
        ]),
        t.features ? el('div', { class: 'feats', 'aria-label': 'Audio features' }, f.bars) : el('p', { class: 'hint' }, 'No audio features for this track.'));
    } else {
      parts.push(el('p', { class: 'hint' }, `Track ${id}`));
      showError('map', tr.reason, 'Track details failed');
    }
    parts.push(el('h3', { class: 'sub' }, 'Neighbours'));
    if (sim.status === 'fulfilled') {
      const list = Array.isArray(sim.value && sim.value.tracks) ? sim.value.tracks : [];
      mapView.neighbours = list.map((x) => mapView.idToPoint.get(x.id)).filter((i) => i !== undefined);
      parts.push(list.length ? el('ol', { class: 'neigh' }, list.map((x) => el('li', null,
        el('button', { type: 'button', title: x.reasons || '', onclick: () => selectTrack(x.id) },
          x.name || x.id,
          el('span', { class: 'sub2' }, `${listText(x.artists)}${mapView.idToPoint.has(x.id) ? '' : ' · not on the map'}`)))))
        : el('p', { class: 'hint' }, 'No neighbours.'));
      if (sim.value && sim.value.request_id) parts.push(el('p', { class: 'meta' }, 'request id ', el('code', null, sim.value.request_id)));
    } else {
      parts.push(el('p', { class: 'hint' }, 'Neighbours could not be loaded.'));
      showError('map', sim.reason, 'Neighbours failed');
    }
    side.replaceChildren(...parts);
    $('#map-status').textContent = tr.status === 'fulfilled'
      ? `Showing ${(tr.value && tr.value.name) || id}${sim.status === 'fulfilled' ? ` and ${mapView.neighbours.length} neighbours on the map` : ''}.`
      : `Could not load track ${id}.`;
    mapView.draw();
  }

  function pickAt(x, y, touch) {
    let i = mapView.nearest(x, y, touch ? 24 : 16);
    if (i < 0 && !touch) i = mapView.nearest(x, y);
    if (i < 0) return;
    const id = mapView.ids[i];
    if (typeof id !== 'string' || !id) {
      showMessage('map', 'error', 'This point has no track id', `point ${i}`);
      return;
    }
    showTip(i);
    selectTrack(id, i).catch((e) => showError('map', e));
  }

  function initMap() {
    const c = mapView.canvas();
    // Pointer events cover mouse, pen and touch: one pointer drags (pans),
    // two pinch (zoom about their middle); a press that hardly moved is a
    // click or a tap.
    const pointers = new Map();
    let drag = null;  // {x, y, moved, touch}
    let pinch = null; // {dist, k}
    const local = (ev) => {
      const r = c.getBoundingClientRect();
      return [ev.clientX - r.left, ev.clientY - r.top];
    };
    c.addEventListener('pointerdown', (ev) => {
      if (!mapView.n) return;
      try { c.setPointerCapture(ev.pointerId); } catch (e) { /* synthetic events have no capture */ }
      const [x, y] = local(ev);
      pointers.set(ev.pointerId, [x, y]);
      if (pointers.size === 1) {
        drag = { x, y, sx: x, sy: y, moved: false, touch: ev.pointerType !== 'mouse' };
      } else if (pointers.size === 2) {
        const [a, b] = [...pointers.values()];
        pinch = { dist: Math.hypot(a[0] - b[0], a[1] - b[1]) || 1 };
        drag = null;
      }
    });
    c.addEventListener('pointermove', (ev) => {
      if (!mapView.n) return;
      const [x, y] = local(ev);
      if (pointers.has(ev.pointerId)) pointers.set(ev.pointerId, [x, y]);
      if (pinch && pointers.size === 2) {
        const [a, b] = [...pointers.values()];
        const dist = Math.hypot(a[0] - b[0], a[1] - b[1]) || 1;
        mapView.zoomAt(dist / pinch.dist, (a[0] + b[0]) / 2, (a[1] + b[1]) / 2);
        pinch.dist = dist;
        showTip(-1);
        return;
      }
      if (drag && pointers.has(ev.pointerId)) {
        if (!drag.moved && Math.hypot(x - drag.sx, y - drag.sy) > 4) drag.moved = true;
        if (drag.moved) {
          mapView.panBy(x - drag.x, y - drag.y);
          drag.x = x;
          drag.y = y;
          c.classList.add('grabbing');
          showTip(-1);
        }
        return;
      }
      if (ev.pointerType === 'mouse') showTip(mapView.nearest(x, y, 12));
    });
    const up = (ev) => {
      if (!pointers.has(ev.pointerId)) return;
      pointers.delete(ev.pointerId);
      c.classList.remove('grabbing');
      if (pinch) {
        if (pointers.size < 2) pinch = null;
        drag = null;
        return;
      }
      const d = drag;
      drag = null;
      if (ev.type === 'pointerup' && d && !d.moved) {
        const [x, y] = local(ev);
        pickAt(x, y, d.touch);
      }
    };
    c.addEventListener('pointerup', up);
    c.addEventListener('pointercancel', up);
    c.addEventListener('wheel', (ev) => {
      if (!mapView.n) return;
      ev.preventDefault();
      const [x, y] = local(ev);
      const dy = ev.deltaMode === 1 ? ev.deltaY * 16 : ev.deltaY;
      mapView.zoomAt(Math.exp(-dy * 0.002), x, y);
      showTip(-1);
    }, { passive: false });
    c.addEventListener('mouseleave', () => showTip(-1));
    const centre = () => [mapView.w / 2, mapView.h / 2];
    $('#map-zoom-in').addEventListener('click', () => mapView.zoomAt(2, ...centre()));
    $('#map-zoom-out').addEventListener('click', () => mapView.zoomAt(0.5, ...centre()));
    $('#map-zoom-reset').addEventListener('click', () => mapView.resetView());
    c.addEventListener('focus', () => {
      mapView.focused = true;
      if (!mapView.cursor) mapView.cursor = [mapView.w / 2, mapView.h / 2];
      mapView.draw();
    });
    c.addEventListener('blur', () => { mapView.focused = false; mapView.draw(); });
    c.addEventListener('keydown', (ev) => {
      if (!mapView.n) return;
      const step = (ev.shiftKey ? 0.1 : 0.02) * Math.min(mapView.w, mapView.h);
      const cur = mapView.cursor || [mapView.w / 2, mapView.h / 2];
      const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
      if (moves[ev.key]) {
        ev.preventDefault();
        mapView.cursor = [Math.max(0, Math.min(mapView.w, cur[0] + moves[ev.key][0])),
          Math.max(0, Math.min(mapView.h, cur[1] + moves[ev.key][1]))];
        mapView.draw();
      } else if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        pickAt(cur[0], cur[1]);
      } else if (ev.key === '+' || ev.key === '=') {
        ev.preventDefault();
        mapView.zoomAt(1.5, cur[0], cur[1]);
      } else if (ev.key === '-') {
        ev.preventDefault();
        mapView.zoomAt(1 / 1.5, cur[0], cur[1]);
      } else if (ev.key === '0') {
        ev.preventDefault();
        mapView.resetView();
      }
    });
    if (typeof ResizeObserver === 'function') {
      new ResizeObserver(() => { if (currentPage === 'map') mapView.resize(); }).observe($('#map-wrap'));
    }
    // Zooming the page or moving the window to another screen changes the pixel ratio.
    window.addEventListener('resize', () => { if (currentPage === 'map') mapView.resize(); });
    if (window.matchMedia) {
      matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => mapView.draw());
    }
    // For the browser test and bench/map: read-only use.
    window.segueMap = mapView;
  }

  // ---------------------------------------------------------------------------
  // Models

  // Known metrics: label, which direction is better, digits.
  const METRICS = {
    'r_precision': { label: 'R-precision', better: 'high', digits: 4 },
    'ndcg': { label: 'NDCG', better: 'high', digits: 4 },
    'clicks': { label: 'clicks', better: 'low', digits: 2 },
    'recall@50': { label: 'recall@50', better: 'high', digits: 4 },
    'recall@500': { label: 'recall@500', better: 'high', digits: 4 },
    'novelty': { label: 'novelty', better: 'high', digits: 2 },
    'ild@10': { label: 'ILD@10', better: 'high', digits: 3 },
    'popularity_bias': { label: 'pop. bias', better: 'low', digits: 3 },
    'coverage@10': { label: 'coverage@10', better: 'high', digits: 4 },
    'gini@10': { label: 'Gini@10', better: 'low', digits: 3 },
  };
  const NOT_METRICS = new Set(['model', 'seeds', 'lists']);

  /* 2025-11-25T20:01:00Z -> 2025-11-25 20:01 UTC; anything else as it is. */
  function fmtTime(s) {
    const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?Z$/.exec(s);
    return m ? `${m[1]} ${m[2]} UTC` : s;
  }

  function versionNumber(v) {
    const m = /(\d+)/.exec(String(v || ''));
    return m ? Number(m[1]) : -1;
  }

  function bestIndices(values, better) {
    const finite = values.map((v, i) => [v, i]).filter(([v]) => isNum(v));
    if (finite.length < 2) return new Set();
    const target = better === 'low' ? Math.min(...finite.map(([v]) => v)) : Math.max(...finite.map(([v]) => v));
    const tol = Math.abs(target) * 1e-9;
    return new Set(finite.filter(([v]) => Math.abs(v - target) <= tol).map(([, i]) => i));
  }

  function evalTable(rows, seedsN) {
    const cols = [];
    for (const k of Object.keys(METRICS)) if (rows.some((r) => k in r)) cols.push(k);
    for (const r of rows) {
      for (const [k, v] of Object.entries(r)) {
        if (NOT_METRICS.has(k) || k.endsWith('_se') || cols.includes(k)) continue;
        if (isNum(v) || v === null) cols.push(k);
      }
    }
    const best = {};
    for (const c of cols) best[c] = METRICS[c] ? bestIndices(rows.map((r) => r[c]), METRICS[c].better) : new Set();
    const lists = rows.map((r) => r.lists).filter(isNum);
    const caption = el('caption', null, `${seedsN} seed${seedsN === 1 ? '' : 's'}`,
      lists.length ? el('span', { class: 'meta' }, ` · ${fmt(Math.max(...lists))} playlists`) : null);
    const head = el('tr', null, el('th', { scope: 'col' }, 'recommender'), cols.map((c) => {
      const m = METRICS[c];
      return el('th', { scope: 'col', title: m ? `${m.better === 'high' ? 'higher' : 'lower'} is better` : '' },
        m ? m.label : c, m ? el('span', { class: 'dir', 'aria-label': m.better === 'high' ? ' (higher is better)' : ' (lower is better)' }, m.better === 'high' ? ' ↑' : ' ↓') : null);
    }));
    const body = rows.map((r, i) => el('tr', null, el('th', { scope: 'row' }, String(r.model || '?')), cols.map((c) => {
      const v = r[c];
      const se = r[`${c}_se`];
      const m = METRICS[c];
      const isBest = best[c].has(i);
      return el('td', { class: isBest ? 'best' : null, title: isNum(se) ? `± ${fmt(se, m ? m.digits : undefined)} (standard error)` : null },
        isNum(v) ? fmt(v, m ? m.digits : undefined) : '–', isBest ? el('span', { class: 'visually-hidden' }, ' (best)') : null);
    })));
    return el('div', { class: 'table-wrap' }, el('table', null, caption, el('thead', null, head), el('tbody', null, body)));
  }

  function renderEvaluation(ev) {
    if (!ev || typeof ev !== 'object') {
      return el('div', { class: 'empty' }, el('p', null, 'Not evaluated yet: run ', el('code', null, 'segue evaluate'), ' for this version.'));
    }
    const rows = Array.isArray(ev.results) ? ev.results.filter((r) => r && typeof r === 'object') : [];
    const bySeeds = new Map();
    for (const r of rows) {
      const s = isNum(r.seeds) ? r.seeds : 0;
      if (!bySeeds.has(s)) bySeeds.set(s, []);
      bySeeds.get(s).push(r);
    }
    const info = [];
    if (isNum(ev.playlists)) info.push(`${fmt(ev.playlists)} held-out playlists`);
    if (isNum(ev.k)) info.push(`lists of ${fmt(ev.k)}`);
    if (isNum(ev.seconds)) info.push(`${fmt(ev.seconds, 1)} s`);
    return el('div', null,
      info.length ? el('p', { class: 'meta' }, info.join(' · ')) : null,
      rows.length ? el('div', { class: 'eval-tables' }, [...bySeeds.keys()].sort((a, b) => a - b).map((s) => evalTable(bySeeds.get(s), s)))
        : el('p', { class: 'hint' }, 'The evaluation has no results.'),
      el('p', { class: 'legend-note' }, 'Best value per column highlighted; ↑ higher is better, ↓ lower is better. Hover a value for its standard error. ',
        'Clicks: pages of 10 before the first hit. Novelty: mean self-information of the picks. ILD: intra-list diversity. ',
        'Pop. bias: popularity of the picks relative to the catalogue. Gini: how unevenly exposure is spread.'));
  }

  function sparkline(values) {
    const v = values.filter(isNum);
    if (v.length < 2) return null;
    const w = 200, h = 48, p = 3;
    const lo = Math.min(...v), hi = Math.max(...v);
    const span = hi - lo || 1;
    const d = v.map((y, i) => `${i ? 'L' : 'M'}${(p + (i * (w - 2 * p)) / (v.length - 1)).toFixed(1)},${(p + ((hi - y) * (h - 2 * p)) / span).toFixed(1)}`).join('');
    const svg = svgEl('svg', { class: 'spark', viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: 'none', role: 'img',
      'aria-label': `ALS loss from ${fmt(v[0])} to ${fmt(v[v.length - 1])} over ${v.length} iterations` });
    svg.append(svgEl('path', { d, 'vector-effect': 'non-scaling-stroke' }));
    return svg;
  }

  function figPanel(title, ...body) {
    return el('div', { class: 'panel' }, el('h3', null, title), body);
  }

  function scalarPairs(obj, skip) {
    return Object.entries(obj || {}).filter(([k, v]) => !(skip || []).includes(k) && (isNum(v) || typeof v === 'string' || typeof v === 'boolean'))
      .map(([k, v]) => [humanize(k), fmt(v)]);
  }

  function renderMeta(meta) {
    const panels = [];
    const m = meta && typeof meta === 'object' ? meta : {};
    // Training run.
    const run = [];
    if (isNum(m.train_seconds)) run.push(['Training time', `${fmt(m.train_seconds, 1)} s`]);
    if (m.playlists && typeof m.playlists === 'object') {
      run.push(['Playlists', fmt(m.playlists.total)]);
      if (isNum(m.playlists.held_out)) run.push(['Held out', fmt(m.playlists.held_out)]);
    }
    if (m.content && typeof m.content === 'object') {
      run.push(['Tracks', fmt(m.content.tracks)]);
      if (isNum(m.content.dims)) run.push(['Content dimensions', fmt(m.content.dims)]);
      if (isNum(m.content.genres)) run.push(['Genres in block', fmt(m.content.genres)]);
    }
    if (run.length) panels.push(figPanel('Training', kv(run)));

    // Quality prior: cross-validated fit of popularity.
    const q = m.quality;
    if (q && typeof q === 'object') {
      if (q.trained === false) {
        panels.push(figPanel('Quality prior', el('p', { class: 'hint' }, 'Not trained (too few tracks with a popularity).')));
      } else {
        const cv = q.cv && typeof q.cv === 'object' ? q.cv : {};
        const names = Object.keys(cv);
        const r2best = bestIndices(names.map((n) => cv[n] && cv[n].r2), 'high');
        const maebest = bestIndices(names.map((n) => cv[n] && cv[n].mae), 'low');
        const pm = (v, s, d) => (isNum(v) ? [fmt(v, d), isNum(s) ? el('small', { class: 'pm' }, `± ${fmt(s, d)}`) : null] : '–');
        const table = names.length ? el('div', { class: 'table-wrap' }, el('table', null,
          el('caption', null, 'Popularity from audio features', el('span', { class: 'meta' }, isNum(q.folds) ? ` · ${q.folds}-fold CV` : '')),
          el('thead', null, el('tr', null, el('th', { scope: 'col' }, 'model'), el('th', { scope: 'col' }, 'R²', el('span', { class: 'dir' }, ' ↑')), el('th', { scope: 'col' }, 'MAE', el('span', { class: 'dir' }, ' ↓')))),
          el('tbody', null, names.map((n, i) => el('tr', null, el('th', { scope: 'row' }, n),
            el('td', { class: r2best.has(i) ? 'best' : null }, pm(cv[n] && cv[n].r2, cv[n] && cv[n].r2_std, 3)),
            el('td', { class: maebest.has(i) ? 'best' : null }, pm(cv[n] && cv[n].mae, cv[n] && cv[n].mae_std, 2))))))) : null;
        const qorder = ['tracks', 'folds', 'rounds'];
        const qpairs = scalarPairs(Object.fromEntries(Object.entries(q).sort((a, b) =>
          (qorder.includes(a[0]) ? qorder.indexOf(a[0]) : 9) - (qorder.includes(b[0]) ? qorder.indexOf(b[0]) : 9))), ['trained']);
        panels.push(figPanel('Quality prior', kv(qpairs), table));
      }
    }

    // Collaborative filtering.
    const cf = m.cf;
    if (cf && typeof cf === 'object') {
      if (cf.trained === false) {
        panels.push(figPanel('Collaborative filtering', el('p', { class: 'hint' }, 'Not trained (no training playlists).')));
      } else {
        const labels = { playlists: 'Playlists', tracks: 'Tracks', entries: 'Entries', cooc_topm: 'Co-occurrence top-m',
          factors: 'ALS factors', iterations: 'ALS iterations', als_seconds_per_iteration: 'ALS s / iteration' };
        const order = Object.keys(labels);
        const rank = (k) => (order.includes(k) ? order.indexOf(k) : order.length);
        const pairs = Object.entries(cf).filter(([k, v]) => k !== 'trained' && isNum(v))
          .sort((a, b) => rank(a[0]) - rank(b[0]))
          .map(([k, v]) => [labels[k] || humanize(k), k === 'als_seconds_per_iteration' ? fmt(v, 3) : fmt(v)]);
        const loss = Array.isArray(cf.als_loss) ? cf.als_loss.filter(isNum) : [];
        if (loss.length) pairs.push(['ALS loss', `${fmt(loss[0])} → ${fmt(loss[loss.length - 1])}`]);
        panels.push(figPanel('Collaborative filtering', kv(pairs), loss.length > 1 ? sparkline(loss) : null));
      }
    }

    // Sonic map.
    const mp = m.map;
    if (mp && typeof mp === 'object') {
      const pairs = [];
      if (isNum(mp.k)) pairs.push(['Clusters (k)', fmt(mp.k)]);
      if (isNum(mp.inertia)) pairs.push(['Inertia', fmt(mp.inertia)]);
      if (isNum(mp.iterations)) pairs.push(['Iterations', fmt(mp.iterations)]);
      if (Array.isArray(mp.pca_explained)) {
        pairs.push(['PCA explains', mp.pca_explained.filter(isNum).map((v) => `${(100 * v).toFixed(1)}%`).join(' + ')]);
      }
      const cls = Array.isArray(mp.clusters) ? mp.clusters : [];
      panels.push(figPanel('Sonic map', kv(pairs), cls.length ? el('details', null, el('summary', null, `${cls.length} clusters`),
        el('ol', { class: 'clusters-list', start: 0 }, cls.map((c) => el('li', null, `${c.description || ''}`,
          isNum(c.tracks) ? el('span', { class: 'meta' }, ` (${fmt(c.tracks)})`) : null)))) : null));
    }

    // Anything else with plain values.
    const known = new Set(['version', 'created_at', 'train_seconds', 'playlists', 'content', 'quality', 'cf', 'map']);
    const other = [];
    for (const [k, v] of Object.entries(m)) {
      if (known.has(k)) continue;
      if (isNum(v) || typeof v === 'string' || typeof v === 'boolean') other.push([humanize(k), fmt(v)]);
      else if (v && typeof v === 'object' && !Array.isArray(v)) {
        const p = scalarPairs(v);
        if (p.length) panels.push(figPanel(humanize(k), kv(p)));
      }
    }
    if (other.length) panels.push(figPanel('Other', kv(other)));
    return panels.length ? el('div', { class: 'figs' }, panels) : el('p', { class: 'hint' }, 'No training figures recorded.');
  }

  async function loadModels() {
    setState('models', 'loading');
    const box = $('#models');
    box.replaceChildren(el('p', { class: 'meta' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Loading models…'));
    let data;
    try {
      data = await api('/api/models');
    } catch (e) {
      box.replaceChildren(el('div', { class: 'empty' }, el('p', null, 'The models could not be loaded. '),
        el('button', { type: 'button', class: 'btn btn-sm', onclick: () => { clearMessages('models'); reload('models'); } }, 'Retry')));
      throw e;
    }
    const models = (Array.isArray(data && data.models) ? data.models : []).filter((m) => m && typeof m === 'object');
    models.sort((a, b) => versionNumber(b.version) - versionNumber(a.version));
    if (!models.length) {
      box.replaceChildren(el('div', { class: 'empty' }, el('p', null, 'No trained model yet: run ', el('code', null, 'segue train'), '.')));
      setState('models', 'ready');
      return;
    }
    box.replaceChildren(...models.map((m, i) => {
      const version = String(m.version || (m.meta && m.meta.version) || '?');
      const created = m.meta && m.meta.created_at ? fmtTime(String(m.meta.created_at)) : '';
      return el('details', { class: 'model', open: i === 0, id: `model-${version}` },
        el('summary', null, el('div', { class: 'model-head' }, el('h2', null, version),
          i === 0 ? el('span', { class: 'tag' }, 'latest') : null,
          created ? el('span', { class: 'meta' }, `trained ${created}`) : null,
          el('span', { class: 'meta' }, m.evaluation ? 'evaluated' : 'not evaluated'))),
        renderMeta(m.meta),
        el('h3', { class: 'panel-title' }, 'Offline evaluation: playlist continuation'),
        renderEvaluation(m.evaluation));
    }));
    setState('models', 'ready');
  }

  // ---------------------------------------------------------------------------
  // Experiments
  //
  // #/experiments?name=NAME&baseline=..&mde=..&alpha=..&power=.. : the list of
  // experiments (GET /api/experiments), the report of the one named
  // (GET /api/experiments/NAME/report, with the server's lift and sequential
  // charts as SVG), and the power calculator (GET /api/power), whose inputs
  // the URL keeps too. The page only reads: experiments are created, started
  // and stopped with `segue experiment` (or the token-guarded API).

  // Metric names, and which way is better.
  const EXP_METRICS = {
    play_rate: { label: 'Play rate', better: 'high', rate: true },
    like_rate: { label: 'Like rate', better: 'high', rate: true },
    skip_rate: { label: 'Skip rate', better: 'low', rate: true },
    save_rate: { label: 'Save rate', better: 'high', rate: true },
    discovery_rate: { label: 'Discovery rate', better: 'high', rate: true },
    first_play_position: { label: 'First play position', better: 'low', rate: false },
  };
  const POWER_FIELDS = ['baseline', 'mde', 'alpha', 'power'];
  const metricLabel = (m) => (EXP_METRICS[m] ? EXP_METRICS[m].label : humanize(m));

  function expParams() {
    const m = /^#\/experiments\?(.*)$/.exec(location.hash);
    return new URLSearchParams(m ? m[1] : '');
  }

  function expWriteUrl(p, push) {
    const q = p.toString();
    const url = `#/experiments${q ? '?' + q : ''}`;
    if (location.hash === url) return;
    if (push) history.pushState(null, '', url);
    else history.replaceState(null, '', url);
  }

  /* A rate as a percentage, anything else as a number. */
  function fmtMetric(m, v, signed) {
    if (!isNum(v)) return '–';
    const sign = signed && v > 0 ? '+' : '';
    if (EXP_METRICS[m] && EXP_METRICS[m].rate) return `${sign}${(100 * v).toFixed(Math.abs(v) < 0.001 && v !== 0 ? 3 : 2)}%`;
    return sign + fmt(v, 2);
  }

  const pct1 = (v) => (isNum(v) ? `${(100 * v).toFixed(1)}%` : '–');
  const fmtPct = (v) => (isNum(v) ? `${v > 0 ? '+' : ''}${(100 * v).toFixed(1)}%` : '–');

  function fmtP(p) {
    if (!isNum(p)) return '–';
    if (p < 0.0001) return '< 0.0001';
    return p < 0.01 ? p.toPrecision(2) : p.toFixed(p < 0.1 ? 3 : 2);
  }

  const pText = (p) => (isNum(p) && p < 0.0001 ? 'p < 0.0001' : `p = ${fmtP(p)}`);

  function fmtMs(ms) {
    if (!isNum(ms) || ms <= 0) return '';
    return fmtTime(new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'));
  }

  /* "a, b and c" */
  function andList(items) {
    return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
  }

  function stateTag(state) {
    const s = typeof state === 'string' ? state : '?';
    return el('span', { class: `tag state state-${s}` }, s);
  }

  function renderExpList(list, selected) {
    const box = $('#exp-list');
    if (!list.length) {
      box.replaceChildren(el('div', { class: 'empty' }, el('p', null, 'No experiment yet. Create one with ',
        el('code', null, 'segue experiment create NAME --variant control:model=hybrid --variant treatment:model=hybrid,diversity=0.6'),
        ', then ', el('code', null, 'segue experiment start NAME'), '.')));
      return;
    }
    box.replaceChildren(el('ul', { class: 'exp-items' }, list.map((x) => {
      const when = x.state === 'draft' ? `created ${fmtMs(x.created_ms)}` : x.state === 'running' ? `since ${fmtMs(x.started_ms)}`
        : `${fmtMs(x.started_ms)} → ${fmtMs(x.stopped_ms)}`;
      const variants = Array.isArray(x.variants) ? x.variants.map((v) => v && v.name).filter(Boolean) : [];
      return el('li', { dataset: { name: x.name } },
        el('a', { href: `#/experiments?${new URLSearchParams({ ...Object.fromEntries(expParams()), name: x.name }).toString()}`,
          'aria-current': x.name === selected ? 'true' : null },
        el('span', { class: 'exp-name' }, x.name), stateTag(x.state),
        el('span', { class: 'exp-sub' }, `${variants.join(' vs ')}${x.metric ? ` · ${metricLabel(x.metric)}` : ''}${when.trim() ? ` · ${when}` : ''}`)));
    })));
  }

  /* The sample-ratio-mismatch result as a sentence; an alarm is a warning
   * that says what it means. */
  function srmBox(srm, variants) {
    const names = variants.map((v) => v.name);
    const obs = srm && Array.isArray(srm.observed) ? srm.observed : variants.map((v) => v.users);
    const exp = srm && Array.isArray(srm.expected) ? srm.expected : [];
    const users = andList(obs.map((n, i) => `${fmt(n)}${i === 0 ? ' listeners' : ''} in ${names[i] || `variant ${i + 1}`}`));
    const expected = exp.length ? andList(exp.map((n) => fmt(isNum(n) ? Math.round(n * 10) / 10 : n))) : '';
    if (!srm || !isNum(srm.p)) {
      return el('p', { class: 'srm srm-none', dataset: { srm: 'none' } },
        'Sample ratio: not tested yet (it needs listeners in every variant).');
    }
    if (srm.alarm) {
      return el('div', { class: 'srm srm-alarm', role: 'alert', dataset: { srm: 'alarm' } },
        el('p', null, el('strong', null, 'Sample ratio mismatch: do not trust this report yet.')),
        el('p', null, `The variants have ${users} where their weights expect ${expected} `,
          `(chi-square ${fmt(srm.chi2, 1)}, ${pText(srm.p)}, below the 0.001 alarm). `,
          'A split this far from the weights does not happen by chance: assignment, logging or a bot is skewing who is counted, ',
          'and every comparison below may be biased until the cause is found.'));
    }
    return el('p', { class: 'srm srm-ok', dataset: { srm: 'ok' } },
      el('strong', null, 'No sample ratio mismatch: '),
      `${users}, as the weights expect${expected ? ` (${expected})` : ''}; chi-square ${pText(srm.p)} (the alarm is at p < 0.001).`);
  }

  function variantTable(report) {
    const variants = report.variants;
    const metrics = Object.keys(EXP_METRICS).filter((m) => variants.some((v) => v.metrics && m in v.metrics));
    for (const v of variants) for (const m of Object.keys(v.metrics || {})) if (!metrics.includes(m)) metrics.push(m);
    const primary = report.experiment && report.experiment.metric;
    return el('div', { class: 'table-wrap' }, el('table', { id: 'exp-variants' },
      el('caption', null, 'Per variant', el('span', { class: 'meta' }, ' · per-listener means, ± standard error')),
      el('thead', null, el('tr', null, el('th', { scope: 'col' }, 'variant'), el('th', { scope: 'col' }, 'listeners'),
        el('th', { scope: 'col' }, 'lists shown'), metrics.map((m) => el('th', { scope: 'col', dataset: { metric: m } }, metricLabel(m),
          m === primary ? el('span', { class: 'dir' }, ' (primary)') : null)))),
      el('tbody', null, variants.map((v, i) => el('tr', { dataset: { variant: v.name } },
        el('th', { scope: 'row' }, v.name, i === 0 ? el('span', { class: 'dir' }, ' (control)') : null,
          v.config ? el('small', { class: 'pm' }, String(v.config)) : null),
        el('td', { dataset: { field: 'users' } }, fmt(v.users)),
        el('td', { dataset: { field: 'impressions' } }, fmt(v.impressions)),
        metrics.map((m) => {
          const x = v.metrics && v.metrics[m];
          return el('td', { dataset: { metric: m }, title: x && isNum(x.num) && isNum(x.den) ? `${fmt(x.num)} / ${fmt(x.den)}` : null },
            x ? fmtMetric(m, x.value) : '–', x && isNum(x.se) ? el('small', { class: 'pm' }, `± ${fmtMetric(m, x.se)}`) : null);
        }))))));
  }

  function comparisonTable(report) {
    const rows = Array.isArray(report.comparisons) ? report.comparisons.filter((c) => c && typeof c.metric === 'string') : [];
    if (!rows.length) return el('p', { class: 'hint' }, 'No comparison yet: every variant needs listeners.');
    const control = report.variants[0] ? report.variants[0].name : 'control';
    const correction = report.correction === 'bh' || report.correction === 'benjamini-hochberg' ? 'Benjamini-Hochberg' : 'Holm';
    return el('div', { class: 'table-wrap' }, el('table', { id: 'exp-comparisons' },
      el('caption', null, `Against ${control}`, el('span', { class: 'meta' },
        ` · ${Math.round(100 * (1 - (isNum(report.alpha) ? report.alpha : 0.05)))}% intervals · p adjusted across metrics (${correction})`)),
      el('thead', null, el('tr', null, ['metric', 'variant', 'difference', 'relative lift', 'p', 'p adjusted', 'result']
        .map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', null, rows.map((c) => {
        const better = EXP_METRICS[c.metric] ? EXP_METRICS[c.metric].better : 'high';
        const good = isNum(c.diff) && (better === 'high' ? c.diff > 0 : c.diff < 0);
        const result = c.significant ? (good ? 'better' : 'worse') : 'no clear difference';
        return el('tr', { dataset: { metric: c.metric, variant: c.variant } },
          el('th', { scope: 'row' }, metricLabel(c.metric),
            c.primary ? el('span', { class: 'tag' }, 'primary') : null, c.guardrail ? el('span', { class: 'tag' }, 'guardrail') : null,
            c.cuped ? el('small', { class: 'pm' }, `CUPED${isNum(c.variance_reduction) ? `, variance −${(100 * c.variance_reduction).toFixed(0)}%` : ''}`) : null),
          el('td', null, c.variant),
          el('td', null, fmtMetric(c.metric, c.diff, true),
            el('small', { class: 'pm' }, `[${fmtMetric(c.metric, c.diff_lo, true)}, ${fmtMetric(c.metric, c.diff_hi, true)}]`)),
          el('td', null, fmtPct(c.lift), el('small', { class: 'pm' }, `[${fmtPct(c.lift_lo)}, ${fmtPct(c.lift_hi)}]`)),
          el('td', null, fmtP(c.p)),
          el('td', null, fmtP(c.p_adjusted)),
          el('td', { class: c.significant ? (good ? 'sig-good' : 'sig-bad') : 'sig-none' }, result));
      }))));
  }

  function sequentialNote(report) {
    const seq = Array.isArray(report.sequential) ? report.sequential.filter((s) => s && typeof s.day === 'string') : [];
    if (!seq.length) return el('p', { class: 'hint' }, 'No look with listeners yet.');
    const last = seq[seq.length - 1];
    return el('p', { class: 'meta' }, `At the last look (${fmtTime(last.day)}), ${metricLabel(last.metric || report.experiment.metric)} of ${last.variant || 'the treatment'}: `,
      `${fmtMetric(last.metric, last.diff, true)}, always-valid interval [${fmtMetric(last.metric, last.lo, true)}, ${fmtMetric(last.metric, last.hi, true)}], `,
      `always-valid ${pText(last.p)}. This interval holds at every look at once, so it can be read as often as one likes; the fixed-horizon intervals above only at the planned end.`);
  }

  function interleavingNote(il) {
    if (!il || typeof il !== 'object') return null;
    const cr = il.credit && typeof il.credit === 'object' ? il.credit : null;
    return el('div', { class: 'panel' }, el('h3', { class: 'panel-title' }, 'Interleaving'),
      cr ? el('p', null, `Credit test (the verdict's): plays credited to team B ${fmt(cr.plays_b)}, to team A ${fmt(cr.plays_a)} `,
        `(B's share ${pct1(cr.share_b)}); per listener, B minus A: ${fmt(cr.mean_diff)} [${fmt(cr.lo)}, ${fmt(cr.hi)}] `,
        `(0 = no preference), ${pText(cr.p)}.`) : null,
      el('p', null, `Listeners whose plays preferred one side: team B ${fmt(il.wins_b)}, team A ${fmt(il.wins_a)}; ties ${fmt(il.ties)}. `,
        `B's share of the preferences: ${pct1(il.share_b)} [${pct1(il.lo)}, ${pct1(il.hi)}] (50% = no preference), ${pText(il.p)}.`));
  }

  /* One of the server's SVG charts into box, sanitised. */
  async function expChart(box, path, label) {
    box.dataset.state = 'loading';
    box.replaceChildren(el('span', { class: 'loading' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Loading chart…'));
    try {
      placeSvg(box, safeSvg(await apiText(path)), label);
      box.classList.remove('error');
      box.dataset.state = 'ok';
    } catch (e) {
      box.classList.add('error');
      box.dataset.state = 'error';
      const msg = e instanceof ApiError ? `${e.message}${e.detail ? ': ' + e.detail : ''}` : e.message;
      box.replaceChildren(el('p', null, `Could not load this chart. ${msg}`));
      throw e;
    }
  }

  let expSeq = 0;

  /* Shows experiment `name` (an EXP object from the list, or null when the
   * list does not know it). */
  async function showExperiment(name, x) {
    const seq = ++expSeq;
    const body = $('#exp-body');
    $('#exp-title').textContent = name ? `Experiment ${name}` : 'Experiment';
    if (!name) {
      body.replaceChildren(el('p', { class: 'hint' }, 'Pick an experiment to see its report.'));
      return;
    }
    if (!x) {
      body.replaceChildren(el('div', { class: 'empty' }, el('p', null, `There is no experiment named “${name}”.`)));
      return;
    }
    const enc = encodeURIComponent(name);
    const variants = Array.isArray(x.variants) ? x.variants.filter((v) => v && v.name) : [];
    const totalW = variants.reduce((a, v) => a + (isNum(v.weight) ? v.weight : 0), 0) || 1;
    const head = el('div', { class: 'panel exp-head' },
      el('div', { class: 'exp-head-row' }, el('h2', { class: 'exp-h' }, name), stateTag(x.state),
        x.state !== 'draft' ? el('a', { class: 'btn btn-sm', href: `/api/experiments/${enc}/export`, download: `${name}.csv` }, 'Per-listener CSV') : null),
      kv([
        ['Variants', andList(variants.map((v) => `${v.name} (${Math.round((100 * (v.weight || 0)) / totalW)}%${v.config ? `: ${v.config}` : ''})`))],
        ['Primary metric', metricLabel(x.metric || 'play_rate')],
        ['Guardrails', Array.isArray(x.guardrails) && x.guardrails.length ? x.guardrails.map(metricLabel).join(', ') : 'none'],
        ['Created', fmtMs(x.created_ms) || '–'],
        ['Started', fmtMs(x.started_ms) || '–'],
        ['Stopped', fmtMs(x.stopped_ms) || (x.state === 'running' ? 'still running' : '–')],
      ]));
    if (x.state === 'draft') {
      body.replaceChildren(head, el('div', { class: 'empty' }, el('p', null, 'Not started: nobody is assigned yet. Start it with ',
        el('code', null, `segue experiment start ${name}`), '.')));
      return;
    }
    body.replaceChildren(head, el('p', { class: 'meta' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Loading the report…'));
    const report = await api(`/api/experiments/${enc}/report`);
    if (seq !== expSeq) return;
    const rv = Array.isArray(report && report.variants) ? report.variants.filter((v) => v && typeof v.name === 'string') : [];
    const r = { ...report, variants: rv, experiment: report.experiment || x };
    const lift = el('div', { class: 'chart-box exp-chart', id: 'exp-lift' });
    const sequential = el('div', { class: 'chart-box exp-chart', id: 'exp-sequential' });
    body.replaceChildren(...[head,
      x.state === 'running' ? el('p', { class: 'note' }, 'Still running: these figures are interim. The fixed-horizon intervals and p-values are only valid once the planned sample is in; the always-valid view below can be read at any time.') : null,
      srmBox(r.srm, rv),
      typeof r.verdict === 'string' && r.verdict ? el('p', { class: 'verdict', id: 'exp-verdict' }, r.verdict) : null,
      variantTable(r),
      el('h3', { class: 'panel-title exp-sub-title' }, 'Lift per metric'),
      el('figure', { class: 'panel chart exp-fig' }, lift,
        el('figcaption', { class: 'meta' }, 'Relative lift of each metric against the control, with its interval; a bar that crosses zero is no clear difference.')),
      comparisonTable(r),
      el('h3', { class: 'panel-title exp-sub-title' }, 'Over time'),
      el('figure', { class: 'panel chart exp-fig' }, sequential,
        el('figcaption', { class: 'meta' }, `The always-valid confidence sequence of the difference in ${metricLabel(r.experiment.metric || 'play_rate').toLowerCase()}, look by look: it narrows as listeners come.`)),
      sequentialNote(r),
      interleavingNote(r.interleaving)].filter(Boolean));
    const charts = await Promise.allSettled([
      expChart(lift, `/api/experiments/${enc}/lift.svg`, `Relative lift per metric of ${name}, with confidence intervals`),
      expChart(sequential, `/api/experiments/${enc}/sequential.svg`, `Confidence sequence of the primary metric of ${name} over time`),
    ]);
    $('#exp-status').textContent = `Report of ${name} shown.`;
    const bad = charts.find((c) => c.status === 'rejected');
    if (bad) throw bad.reason;
  }

  let expList = [];

  /* The URL says what to show: (re)reads it. */
  async function expFromUrl() {
    const p = expParams();
    const name = p.get('name') || '';
    for (const f of POWER_FIELDS) if (p.has(f) && p.get(f) !== '') $(`#power-${f}`).value = p.get(f);
    for (const a of $$('#exp-list a')) {
      if (a.closest('li').dataset.name === name) a.setAttribute('aria-current', 'true');
      else a.removeAttribute('aria-current');
    }
    setState('experiments', 'loading');
    clearMessages('experiments');
    try {
      const work = [showExperiment(name, expList.find((x) => x.name === name) || null)];
      if (POWER_FIELDS.some((f) => p.has(f))) work.push(computePower(false));
      await Promise.all(work);
      setState('experiments', 'ready');
    } catch (e) {
      setState('experiments', 'error');
      showError('experiments', e, name ? `Experiment ${name}` : undefined);
    }
  }

  async function loadExperiments() {
    setState('experiments', 'loading');
    $('#exp-list').replaceChildren(el('p', { class: 'meta' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Loading experiments…'));
    let data;
    try {
      data = await api('/api/experiments');
    } catch (e) {
      $('#exp-list').replaceChildren(el('div', { class: 'empty' }, el('p', null, 'The experiments could not be loaded. '),
        el('button', { type: 'button', class: 'btn btn-sm', onclick: () => { clearMessages('experiments'); reload('experiments'); } }, 'Retry')));
      throw e;
    }
    expList = (Array.isArray(data && data.experiments) ? data.experiments : []).filter((x) => x && typeof x.name === 'string');
    // Running first, then the newest.
    const order = { running: 0, stopped: 1, draft: 2 };
    expList.sort((a, b) => (order[a.state] ?? 3) - (order[b.state] ?? 3) || (b.created_ms || 0) - (a.created_ms || 0));
    renderExpList(expList, expParams().get('name') || '');
    await expFromUrl();
  }

  /* The power calculator; `write`: put its inputs into the URL. */
  async function computePower(write) {
    const out = $('#power-result');
    const vals = {};
    for (const f of POWER_FIELDS) {
      const input = $(`#power-${f}`);
      const v = Number(input.value);
      if (input.value.trim() === '' || !Number.isFinite(v)) {
        input.setAttribute('aria-invalid', 'true');
        out.className = 'power-result error';
        out.textContent = `${input.labels[0].textContent} must be a number.`;
        return;
      }
      input.removeAttribute('aria-invalid');
      vals[f] = v;
    }
    const q = new URLSearchParams(Object.entries(vals).map(([k, v]) => [k, String(v)]));
    if (write) {
      const p = expParams();
      for (const [k, v] of q) p.set(k, v);
      expWriteUrl(p, false);
    }
    out.className = 'power-result';
    out.replaceChildren(el('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Computing…');
    try {
      const r = await api(`/api/power?${q.toString()}`);
      const n = r && r.users_per_variant;
      if (!isNum(n)) throw new ApiError('The answer has no users_per_variant', { detail: '/api/power' });
      out.replaceChildren(el('strong', { id: 'power-n' }, fmt(Math.ceil(n))), ' listeners per variant ',
        el('span', { class: 'meta' }, `(${fmt(2 * Math.ceil(n))} for an A/B test) to find ${(100 * vals.baseline).toFixed(1)}% → `,
          `${(100 * (vals.baseline + vals.mde)).toFixed(1)}% with ${Math.round(100 * vals.power)}% power at α = ${vals.alpha}.`));
    } catch (e) {
      out.className = 'power-result error';
      out.textContent = e instanceof ApiError && e.detail ? e.detail : e.message;
    }
  }

  function initExperiments() {
    $('#power-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      computePower(true);
    });
    $('#exp-refresh').addEventListener('click', () => {
      clearMessages('experiments');
      reload('experiments');
    });
  }

  // ---------------------------------------------------------------------------
  // Runs
  //
  // #/runs?metric=KEY&a=RUN&b=RUN : the tracked runs (GET /api/runs), one
  // metric over the runs as a small SVG, two runs side by side (GET
  // /api/runs/ID each: params and metrics, differences marked), the registry
  // (GET /api/registry) and the pipeline's last run (GET /api/pipeline).
  // Read-only.

  let runList = [];

  function runsParams() {
    const m = /^#\/runs\?(.*)$/.exec(location.hash);
    return new URLSearchParams(m ? m[1] : '');
  }

  function runsSetUrl(p) {
    const q = p.toString();
    const url = `#/runs${q ? '?' + q : ''}`;
    if (url !== location.hash) history.replaceState(null, '', url);
  }

  function runMetricKeys() {
    const keys = new Set();
    for (const r of runList) for (const k of Object.keys(r.metrics || {})) keys.add(k);
    return [...keys].sort();
  }

  function runsTable() {
    const box = $('#runs-table');
    if (!runList.length) {
      box.replaceChildren(el('div', { class: 'empty' }, el('p', null, 'No tracked runs yet: `segue train` and `segue pipeline run` record theirs in the workspace\'s mlruns.')));
      return;
    }
    const p = runsParams();
    const picked = [p.get('a'), p.get('b')].filter(Boolean);
    const keys = runMetricKeys().slice(0, 4);
    const head = el('tr', null, el('th', { scope: 'col' }, 'Compare'), el('th', { scope: 'col' }, 'Run'),
      el('th', { scope: 'col' }, 'Experiment'), el('th', { scope: 'col' }, 'Name'), el('th', { scope: 'col' }, 'Status'),
      el('th', { scope: 'col' }, 'Started'), ...keys.map((k) => el('th', { scope: 'col', class: 'num' }, k)));
    const rows = runList.map((r) => el('tr', null,
      el('td', null, el('input', { type: 'checkbox', 'aria-label': `Compare run ${r.run_id.slice(0, 8)}`, checked: picked.includes(r.run_id),
        onchange: (ev) => runsPick(r.run_id, ev.target.checked) })),
      el('td', null, el('code', { title: r.run_id }, r.run_id.slice(0, 8))),
      el('td', null, r.experiment || ''), el('td', null, r.name || ''), el('td', null, r.status || ''),
      el('td', null, fmtMs(r.start_time)),
      ...keys.map((k) => el('td', { class: 'num' }, fmt((r.metrics || {})[k])))));
    box.replaceChildren(el('div', { class: 'table-wrap' }, el('table', { class: 'runs-table' }, el('thead', null, head), el('tbody', null, ...rows))));
  }

  function runsPick(id, on) {
    const p = runsParams();
    let sel = [p.get('a'), p.get('b')].filter((x) => x && x !== id);
    if (on) sel = [...sel, id].slice(-2);
    p.delete('a');
    p.delete('b');
    if (sel[0]) p.set('a', sel[0]);
    if (sel[1]) p.set('b', sel[1]);
    runsSetUrl(p);
    runsFromUrl();
  }

  function runsChart() {
    const box = $('#runs-chart');
    const keys = runMetricKeys();
    if (!keys.length) {
      box.replaceChildren(el('p', { class: 'hint' }, 'No run has a metric yet.'));
      return;
    }
    const p = runsParams();
    const key = keys.includes(p.get('metric')) ? p.get('metric') : keys[0];
    const sel = el('select', { id: 'runs-metric', 'aria-label': 'Metric', onchange: (ev) => {
      const q = runsParams();
      q.set('metric', ev.target.value);
      runsSetUrl(q);
      runsChart();
    } }, ...keys.map((k) => el('option', { value: k, selected: k === key }, k)));
    const pts = runList.slice().reverse().filter((r) => isNum((r.metrics || {})[key]))
      .map((r) => ({ id: r.run_id, v: r.metrics[key] }));
    const W = 560, H = 160, P = 28;
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    svg.setAttribute('class', 'runs-svg');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', `${key} over ${pts.length} run(s), oldest first`);
    if (pts.length) {
      const lo = Math.min(...pts.map((q) => q.v)), hi = Math.max(...pts.map((q) => q.v));
      const span = hi - lo || 1;
      const x = (i) => P + (pts.length === 1 ? (W - 2 * P) / 2 : (i * (W - 2 * P)) / (pts.length - 1));
      const y = (v) => H - P - ((v - lo) / span) * (H - 2 * P);
      const ns = 'http://www.w3.org/2000/svg';
      const line = document.createElementNS(ns, 'polyline');
      line.setAttribute('points', pts.map((q, i) => `${x(i).toFixed(1)},${y(q.v).toFixed(1)}`).join(' '));
      line.setAttribute('class', 'runs-line');
      svg.append(line);
      pts.forEach((q, i) => {
        const c = document.createElementNS(ns, 'circle');
        c.setAttribute('cx', x(i).toFixed(1));
        c.setAttribute('cy', y(q.v).toFixed(1));
        c.setAttribute('r', '3.5');
        c.setAttribute('class', 'runs-dot');
        const t = document.createElementNS(ns, 'title');
        t.textContent = `${q.id.slice(0, 8)}: ${fmt(q.v)}`;
        c.append(t);
        svg.append(c);
      });
      for (const [v, yy] of [[hi, P - 8], [lo, H - P + 16]]) {
        const t = document.createElementNS(ns, 'text');
        t.setAttribute('x', '2');
        t.setAttribute('y', String(yy));
        t.setAttribute('class', 'runs-axis');
        t.textContent = fmt(v);
        svg.append(t);
      }
    }
    box.replaceChildren(el('div', { class: 'field' }, el('label', { for: 'runs-metric' }, 'Metric'), sel), svg);
  }

  async function runsCompare() {
    const box = $('#runs-compare');
    const p = runsParams();
    const a = p.get('a'), b = p.get('b');
    if (!a || !b) {
      box.replaceChildren(el('p', { class: 'hint' }, 'Tick two runs in the table to compare them.'));
      return;
    }
    const [ra, rb] = await Promise.all([api(`/api/runs/${encodeURIComponent(a)}`), api(`/api/runs/${encodeURIComponent(b)}`)]);
    const section = (title, va, vb, val) => {
      const keys = [...new Set([...Object.keys(va || {}), ...Object.keys(vb || {})])].sort();
      if (!keys.length) return null;
      return el('div', { class: 'table-wrap' }, el('table', { class: 'runs-compare' },
        el('caption', null, title),
        el('thead', null, el('tr', null, el('th', { scope: 'col' }, 'Key'), el('th', { scope: 'col' }, a.slice(0, 8)), el('th', { scope: 'col' }, b.slice(0, 8)))),
        el('tbody', null, ...keys.map((k) => {
          const x = val((va || {})[k]), y = val((vb || {})[k]);
          const differs = String(x) !== String(y);
          return el('tr', { class: differs ? 'differs' : null }, el('th', { scope: 'row' }, k, differs ? el('span', { class: 'diff-mark', title: 'differs' }, ' *') : null),
            el('td', null, fmt(x)), el('td', null, fmt(y)));
        }))));
    };
    box.replaceChildren(
      section('Parameters', ra.params, rb.params, (v) => v),
      section('Metrics (last value)', ra.metrics, rb.metrics, (v) => (v && typeof v === 'object' ? v.last : v)) ||
        el('p', { class: 'hint' }, 'Neither run has a metric.'),
      el('p', { class: 'hint' }, 'Rows marked * differ.'));
  }

  function runsRegistry(reg) {
    const box = $('#runs-registry');
    const versions = Array.isArray(reg && reg.versions) ? reg.versions : [];
    if (!versions.length) {
      box.replaceChildren(el('p', { class: 'hint' }, 'No registered model versions.'));
      return;
    }
    const aliases = (reg && reg.aliases) || {};
    const named = (v) => Object.keys(aliases).filter((k) => aliases[k] === v).join(', ');
    box.replaceChildren(el('div', { class: 'table-wrap' }, el('table', { class: 'runs-table' },
      el('thead', null, el('tr', null, ...['Version', 'Model', 'Aliases', 'Run', 'Registered'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', null, ...versions.map((v) => el('tr', null, el('td', null, String(v.version)), el('td', null, `v${v.model}`),
        el('td', null, named(v.version)), el('td', null, el('code', null, (v.run_id || '').slice(0, 8))), el('td', null, fmtMs(v.created_ms))))))));
  }

  function runsPipeline(pl) {
    const box = $('#runs-pipeline');
    const last = pl && pl.last_run;
    if (!last) {
      box.replaceChildren(el('p', { class: 'hint' }, 'The pipeline never ran in this workspace.'));
      return;
    }
    const stages = Array.isArray(last.stages) ? last.stages : [];
    box.replaceChildren(
      el('p', null, `Last run ${last.status || '?'}`, isNum(last.seconds) ? ` in ${fmt(last.seconds, 2)} s` : '', last.message ? `: ${last.message}` : ''),
      el('div', { class: 'table-wrap' }, el('table', { class: 'runs-table' },
        el('thead', null, el('tr', null, ...['Stage', 'Status', 'Seconds', 'Attempts', 'Message'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', null, ...stages.map((s) => el('tr', null, el('td', null, s.name), el('td', null, s.status || '–'),
          el('td', { class: 'num' }, isNum(s.seconds) ? fmt(s.seconds, 2) : '–'), el('td', { class: 'num' }, fmt(s.attempts)),
          el('td', null, s.message || '')))))));
  }

  function runsFromUrl() {
    runsTable();
    runsChart();
    runsCompare().catch((e) => showError('runs', e, 'Comparing runs'));
  }

  async function loadRuns() {
    setState('runs', 'loading');
    clearMessages('runs');
    $('#runs-table').replaceChildren(el('p', { class: 'meta' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Loading runs…'));
    const [runs, reg, pl] = await Promise.all([api('/api/runs'), api('/api/registry'), api('/api/pipeline')]);
    runList = (Array.isArray(runs && runs.runs) ? runs.runs : []).filter((r) => r && typeof r.run_id === 'string');
    runsRegistry(reg);
    runsPipeline(pl);
    runsFromUrl();
    setState('runs', 'ready');
  }

  // ---------------------------------------------------------------------------
  // Start

  function start() {
    listenerInit();
    initDiscover();
    initExperiments();
    initMap();
    $('#chart-filter').addEventListener('input', applyChartFilter);
    window.addEventListener('hashchange', route);
    route();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
