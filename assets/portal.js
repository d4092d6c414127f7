/* Client-side helpers of the portal (served from /assets, allowed by the CSP). */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    portal: {
        /* Export link = the page's query + the grid's filter and sort models, so the
           CSV holds exactly the rows the grid selects. */
        exportHref: function (request, base) {
            if (!base) {
                return window.dash_clientside.no_update;
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
