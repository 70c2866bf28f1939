// The chart of active points on the referral dashboard (uPlot, bundled under static/vendor).
// Data: the JSON block #points-chart-data {dates: ["YYYY-MM-DD"], points: [n], today, labels}.
// Days up to today are drawn solid, the days after (what stays active if nothing new happens)
// dashed, with a vertical mark at today. Without JavaScript or uPlot the tables below the chart
// carry the same data.
"use strict";
(function () {
  function start() {
    var holder = document.getElementById("points-chart");
    var source = document.getElementById("points-chart-data");
    if (!holder || !source || typeof window.uPlot !== "function") return;
    var data = JSON.parse(source.textContent);
    if (!data.dates || !data.dates.length) return;

    // Dates are calendar days: plot them as UTC midnights and label them in UTC.
    var xs = data.dates.map(function (d) { return Date.parse(d + "T00:00:00Z") / 1000; });
    var today = Date.parse(data.today + "T00:00:00Z") / 1000;
    var past = [], ahead = [];
    for (var i = 0; i < xs.length; i++) {
      past.push(xs[i] <= today ? data.points[i] : null);
      ahead.push(xs[i] >= today ? data.points[i] : null);
    }

    function todayLine(u) {
      var x = Math.round(u.valToPos(today, "x", true));
      var ctx = u.ctx;
      ctx.save();
      ctx.strokeStyle = "#a15c00";
      ctx.lineWidth = 1;
      ctx.setLineDash([4, 4]);
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.fillStyle = "#a15c00";
      ctx.font = "12px sans-serif";
      ctx.fillText(data.labels.today, x + 4, u.bbox.top + 12);
      ctx.restore();
    }

    function pad(n) { return (n < 10 ? "0" : "") + n; }
    function dayMonth(ts) {
      var d = new Date(ts * 1000);
      return pad(d.getUTCDate()) + "." + pad(d.getUTCMonth() + 1);
    }
    function fullDate(ts) {
      return ts == null ? "" : dayMonth(ts) + "." + new Date(ts * 1000).getUTCFullYear();
    }

    function size() {
      return { width: Math.max(holder.clientWidth, 280), height: 260 };
    }

    var options = {
      width: size().width,
      height: size().height,
      tzDate: function (ts) { return window.uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(max, 10)]; } } },
      axes: [
        { values: function (u, splits) { return splits.map(dayMonth); } },
        { label: data.labels.points }
      ],
      series: [
        { label: data.labels.date, value: function (u, ts) { return fullDate(ts); } },
        { label: data.labels.points, stroke: "#1f5fbf", width: 2, fill: "rgba(31,95,191,0.08)",
          paths: window.uPlot.paths.stepped({ align: 1 }) },
        { label: data.labels.forecast, stroke: "#1f5fbf", width: 2, dash: [6, 4],
          paths: window.uPlot.paths.stepped({ align: 1 }) }
      ],
      hooks: { draw: [todayLine] }
    };
    var chart = new window.uPlot(options, [xs, past, ahead], holder);
    holder.setAttribute("data-ready", "true");
    window.addEventListener("resize", function () { chart.setSize(size()); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
