/* Page snapshot (issue 16): a print header with the page title, its filters and its date
   window, and Plotly figures redrawn at the printable width while printing.  Plotly's own
   "Download plot as a png" button stays in every figure's toolbar (client side: no browser
   runs on the server). */
(function () {
    "use strict";
    var LABELS = {country: "Country", segment: "Segment", risk: "Churn risk", tier: "CLV tier"};
    var PRINT_WIDTH_PX = 700;  /* 186 mm at 96 dpi, minus a little: A4 and Letter */

    function describe(search) {
        var params = new URLSearchParams(search || "");
        var start = params.get("start"), end = params.get("end");
        var span = (start || end) ? ((start || "start") + " to " + (end || "end"))
            : "the page's default window (see the page)";
        var parts = [];
        Object.keys(LABELS).forEach(function (key) {
            var values = params.getAll(key);
            if (values.length) { parts.push(LABELS[key] + ": " + values.join(", ")); }
        });
        return {window: span, filters: parts.length ? parts.join(" · ") : "no filters"};
    }

    function header() {
        var node = document.getElementById("print-header");
        if (!node) {
            node = document.createElement("header");
            node.id = "print-header";
            node.setAttribute("aria-hidden", "true");
            document.body.insertBefore(node, document.body.firstChild);
        }
        return node;
    }

    function line(className, text) {
        var div = document.createElement("div");
        div.className = className;
        div.textContent = text;
        return div;
    }

    function update() {
        if (!document.body) { return; }
        var facts = describe(window.location.search);
        var title = (document.title || "").split(" · ")[0];
        var tenant = document.getElementById("nav-tenant");
        var node = header();
        node.replaceChildren(
            line("print-title", title + (tenant ? " · " + tenant.textContent : "")),
            line("print-filters", "Filters: " + facts.filters),
            line("print-window", "Date window: " + facts.window),
            line("print-when", "Printed " + new Date().toISOString().slice(0, 16).replace("T", " ") +
                 " UTC from " + window.location.pathname + window.location.search)
        );
    }

    function graphs() { return Array.prototype.slice.call(document.querySelectorAll(".js-plotly-plot")); }

    function fitForPrint() {
        update();
        if (!window.Plotly) { return; }
        graphs().forEach(function (gd) {
            if (gd._portalScreenWidth === undefined) { gd._portalScreenWidth = gd.layout && gd.layout.width; }
            window.Plotly.relayout(gd, {width: PRINT_WIDTH_PX});
        });
    }

    function restore() {
        if (!window.Plotly) { return; }
        graphs().forEach(function (gd) {
            if (gd._portalScreenWidth === undefined) { return; }
            var width = gd._portalScreenWidth;
            delete gd._portalScreenWidth;
            window.Plotly.relayout(gd, {width: width === undefined ? null : width, autosize: true});
        });
    }

    ["pushState", "replaceState"].forEach(function (name) {
        var original = window.history[name];
        window.history[name] = function () {
            var result = original.apply(this, arguments);
            setTimeout(update, 0);
            return result;
        };
    });
    window.addEventListener("popstate", update);
    window.addEventListener("beforeprint", fitForPrint);
    window.addEventListener("afterprint", restore);
    var media = window.matchMedia ? window.matchMedia("print") : null;
    if (media && media.addEventListener) {
        media.addEventListener("change", function (event) { if (event.matches) { fitForPrint(); } else { restore(); } });
    }
    document.addEventListener("DOMContentLoaded", function () {
        update();
        var title = document.querySelector("title");
        if (title && window.MutationObserver) {
            new MutationObserver(update).observe(title, {childList: true});
        }
    });
})();
