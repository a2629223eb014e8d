// Leaflet and its clustering plugin. leaflet.markercluster extends the global `L` (it predates modules), so
// the global is set here, before the plugin's module runs (modules run in import order).
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';

(globalThis as unknown as { L: typeof L }).L = L;

export default L;
