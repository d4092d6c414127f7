/* Client-side helpers of the portal (served from /assets, allowed by the CSP). */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    portal: {
        /* Export link = the page's query + the grid's filter and sort models, so the
           CSV holds exactly the rows the grid selects. */
        exportHref: function (request, raw, base) {
            if (!base) {
                return window.dash_clientside.no_update;
            }
            if (raw) {
                base = base + (base.indexOf("?") >= 0 ? "&" : "?") + "raw=1";
            }
            var model = {};
            if (request && request.filterModel && Object.keys(request.filterModel).length) {
                model.filterModel = request.filterModel;
            }
            if (request && request.sortModel && request.sortModel.length) {
                model.sortModel = request.sortModel;
            }
            if (!Object.keys(model).length) {
                return base;
            }
            var separator = base.indexOf("?") >= 0 ? "&" : "?";
            return base + separator + "grid=" + encodeURIComponent(JSON.stringify(model));
        }
    }
});

/* Navigation that keeps the filters: every page link (and the brand) gets the global
   filters of the current URL (not the page's own options); the current page is marked. */
window.dash_clientside.portal.filterQuery = function (search, keys) {
    var params = new URLSearchParams(search || "");
    var kept = new URLSearchParams();
    (keys || []).forEach(function (key) {
        params.getAll(key).forEach(function (value) { kept.append(key, value); });
    });
    var text = kept.toString();
    return text ? "?" + text : "";
};
window.dash_clientside.portal.navHrefs = function (search, pathname, ids, keys) {
    var query = window.dash_clientside.portal.filterQuery(search, keys);
    var hrefs = ids.map(function (id) { return id.path + query; });
    var active = ids.map(function (id) {
        return id.path === pathname || (id.path !== "/" && (pathname || "").indexOf(id.path + "/") === 0);
    });
    return [hrefs, active, "/" + query];
};
/* The menu button opens the page links and the top bar's tools on phones; a page change closes them. */
window.dash_clientside.portal.toggleNav = function (clicks, pathname, isOpen) {
    var ctx = window.dash_clientside.callback_context;
    var byButton = ctx.triggered.length && ctx.triggered[0].prop_id.indexOf("nav-toggler") === 0;
    var open = byButton ? !isOpen : false;
    return [open, open];
};
/* "Copy link": the address of the current view (page, filters, options). */
window.dash_clientside.portal.currentHref = function () {
    return window.location.href;
};
/* A click on a customer list's row opens the customer's profile (the row id is the customer id). */
window.dash_clientside.portal.rowToProfile = function (clicks) {
    var ctx = window.dash_clientside.callback_context;
    if (!ctx.triggered.length || !ctx.triggered[0].value) {
        return window.dash_clientside.no_update;
    }
    var cell = ctx.triggered[0].value;
    var id = cell.rowId;
    if (id === undefined || id === null || id === "") {
        return window.dash_clientside.no_update;
    }
    return "/profile?customer=" + encodeURIComponent(String(id));
};
/* A customer grid's request: the first one is answered by the rows the page's callback
   brought (grid-first), any other is asked of the server (grid-ask). */
window.dash_clientside.portal.gridRows = function (request, first) {
    var nu = window.dash_clientside.no_update;
    if (!request) {
        return [nu, nu, nu];
    }
    var sorts = function (model) {
        return (model || []).map(function (s) { return s.colId + ":" + s.sort; }).join(",");
    };
    var plain = request.startRow === 0 && (!request.filterModel || !Object.keys(request.filterModel).length) &&
        (!first || !first.request || sorts(request.sortModel) === sorts(first.request.sortModel));
    if (plain && first && first.response && request.endRow === first.request.endRow) {
        return [first.response, first.count, nu];
    }
    if (plain && first && first.ask) {
        return [nu, nu, request];  // the page's callback could not bring them: ask the server
    }
    if (plain && first && first.wait && !first.response) {
        return [nu, nu, nu];  // the page's callback brings them
    }
    var ctx = window.dash_clientside.callback_context;
    var byRequest = ctx.triggered.some(function (t) { return t.prop_id.indexOf("getRowsRequest") >= 0; });
    return byRequest ? [nu, nu, request] : [nu, nu, nu];
};
/* A page's server callback chose another query (page-url-target): go there. */
window.dash_clientside.portal.followTarget = function (target) {
    return typeof target === "string" ? target : window.dash_clientside.no_update;
};
/* Drill-down: a click on a chart mark whose customdata holds a "/customers?..." link opens it. */
window.dash_clientside.portal.drillTo = function (clickData) {
    if (!clickData || !clickData.points || !clickData.points.length) {
        return window.dash_clientside.no_update;
    }
    var data = clickData.points[0].customdata;
    var items = Array.isArray(data) ? data : [data];
    for (var i = items.length - 1; i >= 0; i--) {
        if (typeof items[i] === "string" && items[i].indexOf("/customers?") === 0) {
            return items[i];
        }
    }
    return window.dash_clientside.no_update;
};
/* Filter controls -> URL in the browser (no server request): the global filters in their
   canonical order (portal.dashboard.filters.QUERY_KEYS), then the page's own options as
   they were.  Nothing changes when the query is already the same. */
window.dash_clientside.portal.filtersToUrl = function (start, end, countries, segments, risks, tiers, search, keys) {
    var day = function (value) { return (typeof value === "string" && value) ? value.slice(0, 10) : null; };
    var list = function (value) {
        if (typeof value === "string") { return [value]; }
        return Array.isArray(value) ? value.filter(function (v) { return v !== null && v !== ""; }).map(String) : [];
    };
    var values = {start: day(start) ? [day(start)] : [], end: day(end) ? [day(end)] : [], country: list(countries),
                  segment: list(segments), risk: list(risks), tier: list(tiers)};
    var current = new URLSearchParams(search || "");
    var canonical = function (filterValues) {
        var out = new URLSearchParams();
        (keys || []).forEach(function (key) {
            var seen = {};
            (filterValues[key] || []).forEach(function (v) { if (!seen[v]) { seen[v] = true; out.append(key, v); } });
        });
        current.forEach(function (value, key) { if ((keys || []).indexOf(key) < 0 && value !== "") { out.append(key, value); } });
        var text = out.toString();
        return text ? "?" + text : "";
    };
    var before = {};
    (keys || []).forEach(function (key) { before[key] = current.getAll(key).filter(function (v) { return v !== ""; }); });
    var next = canonical(values);
    return next === canonical(before) ? window.dash_clientside.no_update : next;
};
/* Open or close a collapsed block (the phone's filter controls). */
window.dash_clientside.portal.toggle = function (clicks, isOpen) {
    return !isOpen;
};
/* Drill-down by a clicked label (a treemap tile): /customers with the current global
   filters, the label as the filter `key`, and where the click came from. */
["segment", "country"].forEach(function (key) {
    window.dash_clientside.portal["drillBy_" + key] = function (clickData, keys) {
        if (!clickData || !clickData.points || !clickData.points.length) {
            return window.dash_clientside.no_update;
        }
        var label = clickData.points[0].label || clickData.points[0].id;
        if (typeof label !== "string" || !label) {
            return window.dash_clientside.no_update;
        }
        var current = new URLSearchParams(window.location.search);
        var out = new URLSearchParams();
        (keys || []).forEach(function (k) {
            if (k === key) { out.append(k, label); return; }
            current.getAll(k).forEach(function (v) { out.append(k, v); });
        });
        out.append("from", window.location.pathname);
        return "/customers?" + out.toString();
    };
});
/* Drill-down from a cohort heatmap cell ("Jan 2022", month n): dcc.Graph leaves a heatmap
   point's customdata out of clickData, so the cell is read from its axes.  A click on the
   cohort-size bars carries its link in customdata (drillTo). */
window.dash_clientside.portal.drillBy_cohort = function (clickData, keys) {
    if (!clickData || !clickData.points || !clickData.points.length) {
        return window.dash_clientside.no_update;
    }
    var point = clickData.points[0];
    var link = window.dash_clientside.portal.drillTo(clickData);
    if (link !== window.dash_clientside.no_update) {
        return link;
    }
    var months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    var parts = String(point.y || "").split(" ");
    var month = months.indexOf(parts[0]);
    if (month < 0 || !/^[0-9]{4}$/.test(parts[1] || "") || typeof point.x !== "number" || point.z === null
        || point.z === undefined || isNaN(point.z)) {
        return window.dash_clientside.no_update;
    }
    var current = new URLSearchParams(window.location.search);
    var out = new URLSearchParams();
    (keys || []).forEach(function (k) { current.getAll(k).forEach(function (v) { out.append(k, v); }); });
    out.append("cohort", parts[1] + "-" + (month < 9 ? "0" : "") + (month + 1));
    out.append("period", String(point.x));
    out.append("from", window.location.pathname);
    return "/customers?" + out.toString();
};
/* Keyboard: Enter on a focused cell of a customer list opens the customer's profile, as a
   click does (the grid's cellClicked, then portal.rowToProfile). */
document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) {
        return;
    }
    var cell = event.target && event.target.closest ? event.target.closest(".portal-clickable-row .ag-cell") : null;
    if (!cell || !cell.closest('[id*="customer-grid"]')) {
        return;
    }
    event.preventDefault();
    cell.click();
});
