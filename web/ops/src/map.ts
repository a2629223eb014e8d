/**
 * The fleet map: Leaflet with no tile layer unless the monitor names a tile server (it works offline), the
 * Mesas' geofences from the resources, and every booth as a marker coloured by state, clustered
 * (leaflet.markercluster) so thousands stay readable; a cluster takes the colour of its most urgent booth.
 */

import L from './leaflet.js';
import 'leaflet.markercluster';
import 'leaflet.markercluster/dist/MarkerCluster.css';
import { t } from './i18n.js';
import { placeOf, worstState, type Device, type DeviceState, type Fleet, type Mesa } from './model.js';

export interface FleetMap {
  update(d: Device): void;
  reset(fleet: Fleet): void;
  /** Zooms until the booth's own marker shows (out of its cluster). */
  focus(id: string): void;
}

type StatefulMarker = L.Marker & { state?: DeviceState };

function icon(state: DeviceState, label: string): L.DivIcon {
  return L.divIcon({
    className: `booth booth-${state}`,
    html: `<span class="dot" role="img" aria-label="${label}"></span>`,
    iconSize: [18, 18],
    iconAnchor: [9, 9],
  });
}

export function fleetMap(el: HTMLElement, fleet: Fleet, onSelect: (id: string) => void): FleetMap {
  // markercluster needs the map's maxZoom, which otherwise only a tile layer gives (and there may be none).
  const map = L.map(el, { zoomControl: true, attributionControl: fleet.tiles !== null, preferCanvas: false, maxZoom: 19 });
  if (fleet.tiles !== null) L.tileLayer(fleet.tiles, { maxZoom: 19 }).addTo(map);
  const clusters = L.markerClusterGroup({
    showCoverageOnHover: false,
    maxClusterRadius: 40,
    iconCreateFunction: (cluster) => {
      const children = cluster.getAllChildMarkers() as StatefulMarker[];
      const state = worstState(children.map((m) => m.state ?? 'offline'));
      return L.divIcon({
        className: `cluster cluster-${state}`,
        html: `<span>${String(cluster.getChildCount())}</span>`,
        iconSize: [38, 38],
      });
    },
  });
  const fences = L.layerGroup().addTo(map);
  clusters.addTo(map);
  const markers = new Map<string, StatefulMarker>();
  let mesas = new Map<string, Mesa>();

  const label = (d: Device): string => `${d.id} · ${t(d.state)}`;
  const place = (d: Device): void => {
    const at = placeOf(d, mesas);
    let m = markers.get(d.id);
    if (at === null) {
      if (m) clusters.removeLayer(m);
      return;
    }
    if (!m) {
      m = L.marker(at, { icon: icon(d.state, label(d)), title: label(d), keyboard: true, alt: label(d) }) as StatefulMarker;
      m.state = d.state;
      m.on('click', () => { onSelect(d.id); });
      markers.set(d.id, m);
      clusters.addLayer(m);
      return;
    }
    const moved = !m.getLatLng().equals(L.latLng(at[0], at[1]));
    if (moved) m.setLatLng(at);
    if (m.state !== d.state) {
      m.state = d.state;
      m.setIcon(icon(d.state, label(d)));
      m.options.title = label(d);
      clusters.refreshClusters(m);
    }
  };

  const reset = (f: Fleet): void => {
    mesas = new Map(f.mesas.map((m) => [m.id, m]));
    fences.clearLayers();
    clusters.clearLayers();
    markers.clear();
    const bounds = L.latLngBounds([]);
    for (const m of f.mesas) {
      if (!m.geofence) continue;
      const c = L.circle([m.geofence.lat, m.geofence.lon], { radius: m.geofence.radiusM, color: '#0b4f8a', weight: 2, fillOpacity: 0.06 });
      c.bindTooltip(`${m.id}${m.district ? ` · ${m.district}` : ''}`);
      fences.addLayer(c);
      // Not c.getBounds(): a circle only knows its bounds once the map has a view, and this sets the view.
      bounds.extend(L.latLng(m.geofence.lat, m.geofence.lon).toBounds(2 * m.geofence.radiusM));
    }
    for (const d of f.devices) {
      place(d);
      const at = placeOf(d, mesas);
      if (at) bounds.extend(at);
    }
    if (bounds.isValid()) map.fitBounds(bounds.pad(0.15));
    else map.setView([0, 0], 2);
  };
  const focus = (id: string): void => {
    const m = markers.get(id);
    if (m) clusters.zoomToShowLayer(m);
  };
  reset(fleet);
  return { update: place, reset, focus };
}
