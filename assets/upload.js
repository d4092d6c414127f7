/* Data page: stream the chosen or dropped file to POST /upload (its own endpoint, not a
   Dash callback), show the upload's progress, then hand the returned reference to the
   import job through the "upload-ref" store.  Served from /assets (the CSP forbids
   inline scripts).

   The drop zone is a dcc.Upload (id "upload"); its file events are taken here in the
   capture phase, on the document, before React sees them, so dcc.Upload never reads
   the file into a base64 string. */
(function () {
    "use strict";

    function csrfToken() {
        var match = document.cookie.match(/(?:^|;\s*)_csrf_token=([^;]*)/);
        return match ? decodeURIComponent(match[1]) : "";
    }

    function setProps(id, props) {
        if (window.dash_clientside && window.dash_clientside.set_props) {
            window.dash_clientside.set_props(id, props);
        }
    }

    function refuse(message) {
        setProps("import-progress", {value: 0, label: ""});
        setProps("import-status", {children: message});
    }

    function send(file) {
        var request = new XMLHttpRequest();
        request.open("POST", "/upload");
        request.setRequestHeader("Content-Type", "application/octet-stream");
        request.setRequestHeader("X-CSRFToken", csrfToken());
        request.setRequestHeader("X-Filename", encodeURIComponent(file.name));
        request.upload.onprogress = function (event) {
            if (event.lengthComputable) {
                var percent = Math.round(event.loaded * 100 / event.total);
                setProps("import-progress", {value: percent, label: "Uploading " + percent + "%"});
            }
        };
        request.onload = function () {
            var body = {};
            try {
                body = JSON.parse(request.responseText);
            } catch (ignored) {
                body = {};
            }
            if (request.status === 201 && body.upload) {
                setProps("import-status", {children: ""});
                setProps("upload-ref", {data: {upload: body.upload, filename: body.filename, at: Date.now()}});
            } else {
                refuse(body.message || ("The upload was refused (HTTP " + request.status + ")."));
            }
        };
        request.onerror = function () {
            refuse("The upload failed (network error); try again.");
        };
        setProps("import-status", {children: ""});
        setProps("import-progress", {value: 0, label: "Uploading 0%"});
        request.send(file);
    }

    function inZone(target) {
        return target && target.closest ? target.closest("#upload") : null;
    }

    document.addEventListener("change", function (event) {
        var input = event.target;
        if (inZone(input) && input.type === "file") {
            event.stopPropagation();
            if (input.files && input.files.length) {
                send(input.files[0]);
            }
            input.value = "";  /* the same file can be chosen again */
        }
    }, true);
    document.addEventListener("drop", function (event) {
        if (inZone(event.target)) {
            event.preventDefault();
            event.stopPropagation();
            if (event.dataTransfer && event.dataTransfer.files.length) {
                send(event.dataTransfer.files[0]);
            }
        }
    }, true);
}());
