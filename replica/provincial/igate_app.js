// The iGate replica's app: plain JavaScript standing in for the Angular + Form.io bundle
// (served as /vi/main.js by replica/provincial/igate.py).
const root = document.querySelector('app-root');
root.setAttribute('ng-version', '16.2.12');
const esc = s => String(s).replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
const get = async u => { const r = await fetch(u, {headers: {Accept: 'application/json'}});
  if (!r.ok) { const e = new Error('HTTP ' + r.status); e.status = r.status; throw e; } return r.json(); };
const done = state => root.setAttribute('data-state', state);
const loginLinks = opts => opts.map(o =>
  `<a class="btn-login login-${esc(o.kind)}" href="${esc(o.href)}">${esc(o.label)}</a>`).join(' ');

async function header(cfg, opts) {
  return `<header class="igate-header"><span class="brand">${esc(cfg.title)}</span>
    <a href="/vi/procedure">Dịch vụ công trực tuyến</a>
    <nav class="login-options" data-realm="${esc(cfg.keycloak.realm)}">${loginLinks(opts)}</nav></header>`;
}

async function list(top) {
  let page = 0, rows = [], total = 0;
  while (true) {
    const d = await get(`/pa/procedure/--search?page=${page}&size=20`);
    rows = rows.concat(d.content); total = d.totalElements; page += 1;
    if (page >= d.totalPages) break;
  }
  const body = rows.map(p => `<tr class="procedure-row" data-code="${esc(p.code)}">
      <td class="code">${esc(p.code)}</td><td class="name">${esc(p.name)}</td>
      <td class="level">${esc(p.levelName)}</td>
      <td>${p.online ? `<a class="btn-apply" href="/vi/padsvc/apply-online/${esc(p.id)}">Nộp hồ sơ</a>` : ''}</td></tr>`).join('');
  root.innerHTML = top + `<main class="content"><h1>Danh sách thủ tục hành chính</h1>
    <p class="total">Tổng số: <span id="procedure-total">${total}</span> thủ tục</p>
    <table id="procedure-list"><thead><tr><th>Mã thủ tục</th><th>Tên thủ tục</th><th>Mức độ</th><th></th></tr></thead>
    <tbody>${body}</tbody></table></main>`;
  done('ready');
}

function wizard(top, d) {
  let step = 0;
  const render = () => {
    const last = step === d.steps.length - 1;
    const nav = d.steps.map((t, i) => `<li class="page-item${i === step ? ' active' : ''}"><span class="page-link">${esc(t)}</span></li>`).join('');
    const buttons = [step > 0 ? '<button type="button" class="btn btn-secondary btn-wizard-nav-previous">Quay lại</button>' : '',
      last ? `<button type="button" class="btn btn-primary btn-wizard-nav-submit">${esc(d.submitLabel)}</button>`
           : '<button type="button" class="btn btn-primary btn-wizard-nav-next">Tiếp theo</button>'].join(' ');
    const fee = d.steps[step] === 'Phí, lệ phí' ? `<p class="fee">Lệ phí: ${d.fee.toLocaleString('vi-VN')} đồng</p>` : '';
    root.innerHTML = top + `<main class="content apply"><h1 class="procedure-name">${esc(d.name)}</h1>
      <p>Mã thủ tục: <span class="procedure-code">${esc(d.code)}</span> · Mức độ: <span class="procedure-level">${esc(d.levelName)}</span></p>
      <div class="login-required">Vui lòng đăng nhập để nộp hồ sơ trực tuyến: ${loginLinks(d.loginOptions)}</div>
      <div class="formio-form wizard" role="form"><nav aria-label="navigation" id="wizard-nav"><ul class="pagination">${nav}</ul></nav>
      <div class="wizard-page" data-step="${step}"><h3>${esc(d.steps[step])}</h3>${fee}
        <div class="formio-component"><label>Họ và tên</label><input type="text" name="data[hoTen]"></div></div>
      <div class="formio-wizard-buttons">${buttons}</div></div></main>`;
    const next = root.querySelector('.btn-wizard-nav-next');
    if (next) next.addEventListener('click', () => { step += 1; render(); });
    const prev = root.querySelector('.btn-wizard-nav-previous');
    if (prev) prev.addEventListener('click', () => { step -= 1; render(); });
    const submit = root.querySelector('.btn-wizard-nav-submit');
    if (submit) submit.addEventListener('click', () => fetch('/pa/dossier/--apply',
      {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({code: d.code})}));
    done('ready');
  };
  render();
}

async function apply(top) {
  const m = location.pathname.match(/\/padsvc\/apply-online\/([0-9a-f]{24})/);
  const q = new URLSearchParams(location.search);
  const url = m ? `/pa/procedure/--detail?id=${m[1]}` : `/pa/procedure/--detail?code=${encodeURIComponent(q.get('ma') || '')}`;
  let d;
  try { d = await get(url); } catch (e) {
    root.innerHTML = top + '<main class="content"><p class="not-found">Không tìm thấy thủ tục hành chính.</p></main>';
    return done('ready');
  }
  if (!d.online) {
    root.innerHTML = top + `<main class="content apply"><h1 class="procedure-name">${esc(d.name)}</h1>
      <p>Mã thủ tục: <span class="procedure-code">${esc(d.code)}</span> · Mức độ: <span class="procedure-level">${esc(d.levelName)}</span></p>
      <p class="offline">Thủ tục này chưa hỗ trợ nộp hồ sơ trực tuyến.</p></main>`;
    return done('ready');
  }
  wizard(top, d);
}

(async () => {
  try {
    const [cfg, opts] = await Promise.all([get('/vi/assets/app.config.json'), get('/pa/login-options')]);
    const top = await header(cfg, opts);
    const path = location.pathname;
    if (path.startsWith('/vi/procedure')) return await list(top);
    if (path.startsWith('/vi/nps/apply') || path.startsWith('/vi/padsvc/apply-online')) return await apply(top);
    const blocks = await get('/pa/portal/home-blocks').then(d => d.html, () => '');
    root.innerHTML = top + `<main class="content home"><h1>${esc(cfg.title)}</h1>
      <a href="/vi/procedure">Tra cứu thủ tục hành chính và nộp hồ sơ trực tuyến</a></main>` + blocks;
    done('ready');
  } catch (e) {
    root.innerHTML = '<p class="error">Hệ thống đang bận, vui lòng thử lại sau.</p>';
    done('error');
  }
})();
