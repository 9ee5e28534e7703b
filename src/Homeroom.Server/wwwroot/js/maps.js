// The console's maps: Leaflet (installed from npm at build time into wwwroot/lib/leaflet, never from a
// CDN) driven from Blazor components through JS interop. One HomeroomMap per map element: zones,
// a track of positions, and a small editor of our own for zones (click to add polygon vertices, drag
// them; a circle by its centre and a point on its edge). Leaflet has no drawing tools of its own, and
// the well-known plugin (leaflet-draw) is unmaintained and far larger than the two shapes we need.

let leaflet;

/** Loads Leaflet's script and stylesheet once per page. */
function loadLeaflet() {
    leaflet ??= new Promise((resolve, reject) => {
        const css = document.createElement('link');
        css.rel = 'stylesheet';
        css.href = 'lib/leaflet/leaflet.css';
        document.head.appendChild(css);
        const script = document.createElement('script');
        script.src = 'lib/leaflet/leaflet.js';
        script.onload = () => resolve(window.L);
        script.onerror = () => reject(new Error('The map library (lib/leaflet/leaflet.js) did not load.'));
        document.head.appendChild(script);
    });
    return leaflet;
}

const zoneStyle = { color: '#1f5fbf', weight: 2, fillOpacity: 0.12 };
const selectedStyle = { color: '#b25e00', weight: 3, fillOpacity: 0.2 };
const editStyle = { color: '#b3261e', weight: 2, dashArray: '6 4', fillOpacity: 0.08 };

/**
 * Creates a map in an element.
 * @param {HTMLElement} element where the map goes
 * @param {{tileUrl: string, attribution: string, label: string}} options tiles (an empty URL: a blank background)
 * @param {any} dotnet the component's DotNetObjectReference, told of clicks and edits
 */
export async function createMap(element, options, dotnet) {
    const L = await loadLeaflet();
    return new HomeroomMap(L, element, options, dotnet);
}

class HomeroomMap {
    constructor(L, element, options, dotnet) {
        this.L = L;
        this.dotnet = dotnet;
        this.map = L.map(element, { zoomSnap: 0.5, attributionControl: true }).setView([20, 0], 2);
        this.map.attributionControl.setPrefix(false);
        if (options.tileUrl) {
            L.tileLayer(options.tileUrl, { maxZoom: 19, attribution: escapeHtml(options.attribution || '') }).addTo(this.map);
        } else {
            element.classList.add('blank');
        }

        element.setAttribute('role', 'application');
        element.setAttribute('aria-label', options.label || 'Map');
        // Kept on the element so tests (and a curious developer in the console) can reach the map.
        element.leafletMap = this.map;
        this.zones = L.featureGroup().addTo(this.map);
        this.track = L.featureGroup().addTo(this.map);
        this.editor = null;
        this.map.on('click', e => this.onMapClick(e));
    }

    /** Draws zones (a GeoJSON FeatureCollection as the API writes it); fits the view to them when asked. */
    showZones(collection, selectedId, fit) {
        this.zones.clearLayers();
        for (const feature of collection?.features ?? []) {
            const layer = this.layerOf(feature, feature.id === selectedId ? selectedStyle : zoneStyle);
            if (!layer) {
                continue;
            }

            layer.bindTooltip(feature.properties?.name ?? '');
            // While drawing, a click on an existing zone places a point like a click anywhere else.
            layer.on('click', e => {
                this.L.DomEvent.stopPropagation(e);
                if (this.editor) {
                    this.onMapClick(e);
                } else {
                    this.dotnet.invokeMethodAsync('ZoneClicked', feature.id);
                }
            });
            this.zones.addLayer(layer);
        }

        if (fit && this.zones.getLayers().length > 0) {
            this.map.fitBounds(this.zones.getBounds(), { padding: [20, 20], maxZoom: 17 });
        }
    }

    /**
     * Draws a track: positions ({latitude, longitude, at}) joined oldest to newest, each a dot, the last
     * larger; an optional highlighted position (an alert's). Fits the view to it.
     */
    showTrack(points, highlight) {
        const L = this.L;
        this.track.clearLayers();
        const line = points.map(p => [p.latitude, p.longitude]);
        if (line.length > 1) {
            this.track.addLayer(L.polyline(line, { color: '#1f5fbf', weight: 3, className: 'track-line' }));
        }

        points.forEach((p, i) => {
            const last = i === points.length - 1;
            this.track.addLayer(L.circleMarker([p.latitude, p.longitude], {
                radius: last ? 6 : 3, color: '#1f5fbf', fillOpacity: last ? 0.9 : 0.5, className: 'track-point',
            }).bindTooltip(p.label ?? ''));
        });
        if (highlight) {
            this.track.addLayer(L.circleMarker([highlight.latitude, highlight.longitude], {
                radius: 9, color: '#b3261e', weight: 3, fillOpacity: 0.3, className: 'track-alert',
            }).bindTooltip(highlight.label ?? ''));
        }

        const bounds = this.track.getBounds();
        if (bounds.isValid()) {
            this.map.fitBounds(bounds, { padding: [24, 24], maxZoom: 17 });
        }
    }

    /** Starts drawing a new zone: 'polygon' (click to add vertices) or 'circle' (click the centre, then the edge). */
    startDrawing(kind) {
        this.stopEditing();
        this.editor = { kind, vertices: [], center: null, radius: 0, layers: this.L.layerGroup().addTo(this.map) };
        this.map.getContainer().classList.add('drawing');
        this.redraw();
    }

    /** Edits an existing zone's shape (a Feature as the API writes it): vertices and the circle's handles can be dragged. */
    editFeature(feature) {
        const g = feature.geometry;
        if (g.type === 'Point') {
            this.startDrawing('circle');
            this.editor.center = [g.coordinates[1], g.coordinates[0]];
            this.editor.radius = feature.properties.radius;
        } else if (g.type === 'Polygon') {
            this.startDrawing('polygon');
            this.editor.vertices = g.coordinates[0].slice(0, -1).map(p => [p[1], p[0]]);
        } else {
            return false; // A multipolygon is edited as GeoJSON, not on the map.
        }

        this.redraw();
        return true;
    }

    /** The shape being drawn as a GeoJSON Feature (geometry, and the radius for a circle), or null when there is none yet. */
    drawnFeature() {
        const e = this.editor;
        if (!e) {
            return null;
        }

        if (e.kind === 'circle') {
            return e.center && e.radius > 0
                ? { type: 'Feature', properties: { radius: Math.round(e.radius * 10) / 10 }, geometry: { type: 'Point', coordinates: [e.center[1], e.center[0]] } }
                : null;
        }

        if (e.vertices.length === 0) {
            return null;
        }

        const ring = e.vertices.map(v => [round(v[1]), round(v[0])]);
        ring.push(ring[0]);
        return { type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [ring] } };
    }

    /** Removes the last vertex drawn. */
    undoVertex() {
        if (this.editor?.kind === 'polygon' && this.editor.vertices.length > 0) {
            this.editor.vertices.pop();
            this.redraw();
        }
    }

    stopEditing() {
        if (this.editor) {
            this.editor.layers.remove();
            this.editor = null;
            this.map.getContainer().classList.remove('drawing');
        }
    }

    onMapClick(e) {
        const editor = this.editor;
        if (!editor) {
            return;
        }

        const at = [e.latlng.lat, e.latlng.lng];
        if (editor.kind === 'polygon') {
            editor.vertices.push(at);
        } else if (!editor.center || editor.radius > 0 && !editor.settingRadius) {
            editor.center = at;
            editor.radius = 0;
            editor.settingRadius = true;
        } else {
            editor.radius = this.map.distance(editor.center, at);
            editor.settingRadius = false;
        }

        this.redraw();
    }

    redraw() {
        const L = this.L;
        const e = this.editor;
        e.layers.clearLayers();
        if (e.kind === 'polygon') {
            if (e.vertices.length > 1) {
                e.layers.addLayer(L.polygon(e.vertices, editStyle));
            }

            e.vertices.forEach((v, i) => {
                const handle = this.handle(v, `Vertex ${i + 1}`);
                handle.on('drag', d => {
                    const p = d.target.getLatLng();
                    e.vertices[i] = [p.lat, p.lng];
                    this.redrawShapeOnly();
                });
                handle.on('dragend', () => this.redraw());
                e.layers.addLayer(handle);
            });
        } else if (e.center) {
            if (e.radius > 0) {
                e.layers.addLayer(L.circle(e.center, { ...editStyle, radius: e.radius }));
                const edge = this.handle(edgePoint(L, e.center, e.radius), 'Edge');
                edge.on('drag', d => {
                    e.radius = this.map.distance(e.center, d.target.getLatLng());
                    this.redrawShapeOnly();
                });
                edge.on('dragend', () => this.redraw());
                e.layers.addLayer(edge);
            }

            const center = this.handle(e.center, 'Centre');
            center.on('dragend', d => {
                const p = d.target.getLatLng();
                e.center = [p.lat, p.lng];
                this.redraw();
            });
            e.layers.addLayer(center);
        }

        this.dotnet.invokeMethodAsync('DrawingChanged', e.kind === 'polygon' ? e.vertices.length : (e.center ? 1 : 0) + (e.radius > 0 ? 1 : 0));
    }

    // While a handle moves, only the outline follows it (handles are rebuilt when the drag ends).
    redrawShapeOnly() {
        const L = this.L;
        const e = this.editor;
        e.layers.eachLayer(layer => {
            if (layer instanceof L.Polygon && e.kind === 'polygon') {
                layer.setLatLngs(e.vertices);
            } else if (layer instanceof L.Circle) {
                layer.setRadius(e.radius);
            }
        });
    }

    handle(at, title) {
        const icon = this.L.divIcon({ className: 'map-handle', iconSize: [12, 12] });
        return this.L.marker(at, { draggable: true, icon, title, keyboard: false });
    }

    layerOf(feature, style) {
        const L = this.L;
        const g = feature.geometry;
        if (g?.type === 'Point') {
            return L.circle([g.coordinates[1], g.coordinates[0]], { ...style, radius: feature.properties?.radius ?? 0 });
        }

        if (g?.type === 'Polygon') {
            return L.polygon(g.coordinates.map(ring => ring.map(p => [p[1], p[0]])), style);
        }

        if (g?.type === 'MultiPolygon') {
            return L.polygon(g.coordinates.map(polygon => polygon.map(ring => ring.map(p => [p[1], p[0]]))), style);
        }

        return null;
    }

    dispose() {
        this.map.remove();
    }
}

function edgePoint(L, center, radius) {
    // East of the centre by the radius, on a sphere.
    const dLng = radius / (6371008.8 * Math.cos(center[0] * Math.PI / 180)) * 180 / Math.PI;
    return L.latLng(center[0], center[1] + dLng);
}

function round(degrees) {
    return Math.round(degrees * 1e7) / 1e7;
}

function escapeHtml(text) {
    const span = document.createElement('span');
    span.textContent = text;
    return span.innerHTML;
}

/** Saves text as a file in the browser (the GeoJSON export). */
export function download(fileName, text, type) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    const a = document.createElement('a');
    a.href = url;
    a.download = fileName;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
}
