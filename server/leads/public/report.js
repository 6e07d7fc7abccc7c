// The public report page (/report) and the status page (/report/<code>#<secret>): no framework, no map
// library, nothing from the internet — it must work on an intranet. The map is the town's village outlines
// drawn as SVG; a tap (or the phone's GPS) gives the place.
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var CATS = { construction: '在建违法建设', compound: '小区违法搭建/占用绿地', school: '学校周边', other: '其他' };

  function errText(body, status) {
    var e = body && body.error;
    if (e && e.message_zh) return e.message_zh;
    return '提交失败（' + status + '），请稍后再试';
  }
  function fmtDate(iso) {
    var d = new Date(iso);
    var p = function (n) { return (n < 10 ? '0' : '') + n; };
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' + p(d.getHours()) + ':' + p(d.getMinutes());
  }

  // ---------------------------------------------------------------- status page
  var statusBox = $('status');
  if (statusBox) {
    var code = statusBox.getAttribute('data-code');
    var secret = decodeURIComponent((location.hash || '').slice(1));
    if (!secret) {
      statusBox.textContent = '链接不完整：请使用提交后得到的完整链接（含 # 后的查询密码）。';
      return;
    }
    fetch('/api/public/reports/' + encodeURIComponent(code) + '?secret=' + encodeURIComponent(secret))
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, status: r.status, body: b }; }); })
      .then(function (r) {
        if (!r.ok) { statusBox.textContent = r.status === 404 ? '未找到该举报，或查询密码不正确。' : errText(r.body, r.status); return; }
        var b = r.body;
        statusBox.innerHTML = '';
        var s = document.createElement('p'); s.className = 'state state-' + b.status; s.id = 'state'; s.textContent = b.status_zh;
        var d = document.createElement('p'); d.textContent = '状态日期：' + fmtDate(b.status_since);
        var c = document.createElement('p'); c.textContent = '类别：' + b.category_zh + ' · 受理时间：' + fmtDate(b.received_at);
        var due = document.createElement('p'); due.className = 'muted'; due.textContent = '属地村（社区）应于 ' + b.due_on + ' 前响应。';
        statusBox.appendChild(s); statusBox.appendChild(d); statusBox.appendChild(c);
        if (b.status !== 'done') statusBox.appendChild(due);
      })
      .catch(function () { statusBox.textContent = '无法连接服务器，请稍后再试。'; });
    return;
  }

  // ---------------------------------------------------------------- report form
  var form = $('report-form');
  if (!form) return;
  var svg = $('map');
  var picked = null;      // [lon, lat]
  var view = null;        // {minLon, maxLat, sx, sy}
  var W = 360, H = 300;

  function project(lon, lat) { return [(lon - view.minLon) * view.sx, (view.maxLat - lat) * view.sy]; }
  function unproject(x, y) { return [view.minLon + x / view.sx, view.maxLat - y / view.sy]; }
  function el(name, attrs) {
    var e = document.createElementNS('http://www.w3.org/2000/svg', name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function rings(g) {
    if (!g) return [];
    if (g.type === 'Polygon') return g.coordinates;
    if (g.type === 'MultiPolygon') return [].concat.apply([], g.coordinates);
    return [];
  }

  fetch('/api/public/villages.geojson').then(function (r) { return r.json(); }).then(function (fc) {
    var xs = [], ys = [];
    fc.features.forEach(function (f) { rings(f.geometry).forEach(function (r) { r.forEach(function (p) { xs.push(p[0]); ys.push(p[1]); }); }); });
    if (!xs.length) { $('map-note').textContent = '未加载村界地图：请使用“我的位置”。'; return; }
    var minLon = Math.min.apply(null, xs), maxLon = Math.max.apply(null, xs), minLat = Math.min.apply(null, ys), maxLat = Math.max.apply(null, ys);
    var k = Math.cos((minLat + maxLat) / 2 * Math.PI / 180);
    var padX = (maxLon - minLon) * 0.05, padY = (maxLat - minLat) * 0.05;
    minLon -= padX; maxLon += padX; minLat -= padY; maxLat += padY;
    var s = Math.min(W / ((maxLon - minLon) * k), H / (maxLat - minLat));
    view = { minLon: minLon, maxLat: maxLat, sx: s * k, sy: s };
    // as tall as the town is (no empty band under a wide town), and never taller than it was
    H = Math.max(160, Math.ceil((maxLat - minLat) * s));
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    fc.features.forEach(function (f) {
      var d = rings(f.geometry).map(function (r) {
        return 'M' + r.map(function (p) { var q = project(p[0], p[1]); return q[0].toFixed(1) + ',' + q[1].toFixed(1); }).join('L') + 'Z';
      }).join('');
      svg.appendChild(el('path', { d: d, 'class': 'village' }));
    });
    fc.features.forEach(function (f) {
      if (!f.properties.label) return;
      var q = project(f.properties.label[0], f.properties.label[1]);
      var t = el('text', { x: q[0], y: q[1], 'class': 'vname', 'text-anchor': 'middle' });
      t.textContent = f.properties.name;
      svg.appendChild(t);
    });
  }).catch(function () { $('map-note').textContent = '地图加载失败：请使用“我的位置”。'; });

  function setPlace(lon, lat, how) {
    picked = [lon, lat];
    form.elements.lon.value = lon.toFixed(7);
    form.elements.lat.value = lat.toFixed(7);
    $('place').textContent = '已选位置（' + how + '）：' + lat.toFixed(5) + '°N, ' + lon.toFixed(5) + '°E';
    var old = $('pin'); if (old) old.remove();
    if (view) {
      var q = project(lon, lat);
      var g = el('g', { id: 'pin' });
      g.appendChild(el('circle', { cx: q[0], cy: q[1], r: 9, 'class': 'pin-halo' }));
      g.appendChild(el('circle', { cx: q[0], cy: q[1], r: 5, 'class': 'pin' }));
      svg.appendChild(g);
    }
    loadNearby(lon, lat);
  }

  svg.addEventListener('click', function (ev) {
    if (!view) return;
    var r = svg.getBoundingClientRect();
    var x = (ev.clientX - r.left) * W / r.width, y = (ev.clientY - r.top) * H / r.height;
    var ll = unproject(x, y);
    setPlace(ll[0], ll[1], '地图点选');
  });

  $('gps').addEventListener('click', function () {
    if (!navigator.geolocation) { $('place').textContent = '本机不支持定位，请在地图上点选。'; return; }
    $('place').textContent = '正在定位…';
    navigator.geolocation.getCurrentPosition(function (p) {
      setPlace(p.coords.longitude, p.coords.latitude, 'GPS ±' + Math.round(p.coords.accuracy) + ' 米');
    }, function () { $('place').textContent = '定位失败（未授权或无信号），请在地图上点选。'; }, { enableHighAccuracy: true, timeout: 15000 });
  });

  function loadNearby(lon, lat) {
    var box = $('nearby');
    box.innerHTML = '';
    fetch('/api/public/reports/nearby?lon=' + lon + '&lat=' + lat).then(function (r) { return r.json(); }).then(function (b) {
      if (!b.items || !b.items.length) { box.hidden = true; return; }
      box.hidden = false;
      var h = document.createElement('p');
      h.innerHTML = '<strong>附近 50 米内已有 ' + b.items.length + ' 个事项</strong>：若是同一处，可把照片补充到该事项，不必重复举报。';
      box.appendChild(h);
      var opt = function (value, text, checked) {
        var l = document.createElement('label'); l.className = 'choice';
        var i = document.createElement('input'); i.type = 'radio'; i.name = 'add_to_choice'; i.value = value; i.checked = checked;
        l.appendChild(i); l.appendChild(document.createTextNode(' ' + text));
        box.appendChild(l);
      };
      opt('', '这是新的情况，提交新举报', true);
      b.items.forEach(function (it) { opt(String(it.id), it.label_zh + '，相距约 ' + Math.round(it.distance_m) + ' 米：补充照片到此事项', false); });
    }).catch(function () { box.hidden = true; });
  }

  $('photos').addEventListener('change', function () {
    var n = this.files.length;
    var names = [];
    for (var i = 0; i < n; i++) names.push(this.files[i].name);
    $('photo-note').textContent = n > 3 ? '最多 3 张照片，请重新选择' : n ? '已选 ' + n + ' 张：' + names.join('、') : '';
  });

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var msg = $('message');
    msg.className = 'message';
    if (!picked) { msg.textContent = '请先在地图上点选位置，或使用“我的位置”。'; msg.className = 'message error'; return; }
    var files = $('photos').files;
    if (files.length > 3) { msg.textContent = '最多 3 张照片'; msg.className = 'message error'; return; }
    var fd = new FormData();
    ['lon', 'lat', 'description', 'phone', 'website'].forEach(function (k) { fd.append(k, form.elements[k].value); });
    var cat = form.querySelector('input[name=category]:checked');
    fd.append('category', cat ? cat.value : 'other');
    var add = form.querySelector('input[name=add_to_choice]:checked');
    if (add && add.value) fd.append('add_to', add.value);
    for (var i = 0; i < files.length; i++) fd.append('photo', files[i], files[i].name);
    var btn = $('submit');
    btn.disabled = true; btn.textContent = '正在提交…';
    fetch('/api/public/reports', { method: 'POST', body: fd })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, status: r.status, body: b }; }); })
      .then(function (r) {
        btn.disabled = false; btn.textContent = '提交举报';
        if (!r.ok) { msg.textContent = errText(r.body, r.status); msg.className = 'message error'; return; }
        var b = r.body;
        form.hidden = true;
        var rc = $('receipt');
        rc.hidden = false;
        $('receipt-code').textContent = b.code;
        $('receipt-secret').textContent = b.secret;
        var a = $('receipt-link');
        a.href = '/report/' + b.code + '#' + b.secret;
        a.textContent = location.origin + '/report/' + b.code + '#' + b.secret;
        $('receipt-state').textContent = b.status_zh + (b.added_to_existing ? '（照片已补充到附近已有事项）' : '') + ' · 属地村（社区）应于 ' + b.due_on + ' 前响应';
        window.scrollTo(0, 0);
      })
      .catch(function () { btn.disabled = false; btn.textContent = '提交举报'; msg.textContent = '无法连接服务器，请稍后再试。'; msg.className = 'message error'; });
  });
  void CATS;
})();
