// Charts of the lead-marketplace report in the back office (uPlot, bundled under static/vendor).
// Data: the JSON block #lead-report-data {partners: [name], taken: [n], win_rate: [n|null],
// weeks: ["YYYY-MM-DD"], weekly: [n], labels}. Two bar charts by partner (deals taken, win rate)
// and the weekly takes over time. Without JavaScript or uPlot the tables carry the same numbers.
"use strict";
(function () {
  function size(holder) {
    return { width: Math.max(holder.clientWidth, 280), height: 260 };
  }

  function bars(holder, names, values, label, color, maxFloor, partnerLabel) {
    if (!holder || !names.length) return null;
    var xs = names.map(function (_n, i) { return i; });
    var options = {
      width: size(holder).width,
      height: size(holder).height,
      scales: {
        x: { time: false, range: function () { return [-0.5, names.length - 0.5]; } },
        y: { range: function (u, min, max) { return [0, Math.max(max || 0, maxFloor)]; } }
      },
      axes: [
        {
          splits: function () { return xs; },
          values: function (u, splits) {
            return splits.map(function (i) {
              var name = names[i] || "";
              return name.length > 14 ? name.slice(0, 13) + "…" : name;
            });
          },
          rotate: -30,
          size: 70
        },
        { label: label }
      ],
      series: [
        { label: partnerLabel, value: function (u, i) { return i == null ? "" : names[i]; } },
        { label: label, fill: color, stroke: color, width: 0,
          paths: window.uPlot.paths.bars({ size: [0.6, 60] }), points: { show: false } }
      ]
    };
    var chart = new window.uPlot(options, [xs, values], holder);
    holder.setAttribute("data-ready", "true");
    return chart;
  }

  function weekly(holder, data) {
    if (!holder || !data.weeks.length) return null;
    var xs = data.weeks.map(function (d) { return Date.parse(d + "T00:00:00Z") / 1000; });
    function pad(n) { return (n < 10 ? "0" : "") + n; }
    function dayMonth(ts) {
      var d = new Date(ts * 1000);
      return pad(d.getUTCDate()) + "." + pad(d.getUTCMonth() + 1);
    }
    var options = {
      width: size(holder).width,
      height: size(holder).height,
      tzDate: function (ts) { return window.uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(max || 0, 5)]; } } },
      axes: [
        { values: function (u, splits) { return splits.map(dayMonth); } },
        { label: data.labels.weekly }
      ],
      series: [
        { label: data.labels.week, value: function (u, ts) { return ts == null ? "" : dayMonth(ts) + "." + new Date(ts * 1000).getUTCFullYear(); } },
        { label: data.labels.weekly, stroke: "#1f5fbf", width: 2, fill: "rgba(31,95,191,0.08)" }
      ]
    };
    var chart = new window.uPlot(options, [xs, data.weekly], holder);
    holder.setAttribute("data-ready", "true");
    return chart;
  }

  function start() {
    var source = document.getElementById("lead-report-data");
    if (!source || typeof window.uPlot !== "function") return;
    var data = JSON.parse(source.textContent);
    var holders = [
      document.getElementById("chart-taken"),
      document.getElementById("chart-win"),
      document.getElementById("chart-weekly")
    ];
    var charts = [
      bars(holders[0], data.partners, data.taken, data.labels.taken, "#1f5fbf", 5, data.labels.partner),
      bars(holders[1], data.partners, data.win_rate, data.labels.win_rate, "#2e7d32", 100, data.labels.partner),
      weekly(holders[2], data)
    ];
    window.addEventListener("resize", function () {
      charts.forEach(function (chart, i) { if (chart) chart.setSize(size(holders[i])); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
