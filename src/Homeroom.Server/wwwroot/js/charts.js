// The console's charts: Chart.js (installed from npm at build time into wwwroot/lib/chartjs, never from
// a CDN) driven from the InsightChart component through JS interop. Charts are drawn for a projector
// and for paper: large type, dark ink on white, the Okabe-Ito palette (told apart with the common
// colour-vision deficiencies), no animation, and a redraw at the printed width before printing.
// The component renders the same numbers as a table beside each chart, for screen readers.

let library;

/** Loads Chart.js once per page. */
function loadChartJs() {
    library ??= new Promise((resolve, reject) => {
        const script = document.createElement('script');
        script.src = 'lib/chartjs/chart.umd.min.js';
        script.onload = () => resolve(window.Chart);
        script.onerror = () => reject(new Error('The chart library (lib/chartjs/chart.umd.min.js) did not load.'));
        document.head.appendChild(script);
    });
    return library;
}

// Okabe & Ito (2008), without yellow, which is too light on white: each differs in hue and lightness.
const palette = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#56B4E9', '#E69F00', '#000000'];
// Line series also differ in dash pattern and point shape, so they read apart in a grey printout.
const dashes = [[], [8, 4], [2, 3], [12, 4, 2, 4]];
const points = ['circle', 'rect', 'triangle', 'rectRot'];
const ink = '#1d2330';
const grid = '#c9ced8';

const charts = new Set();
let printHooked = false;

function hookPrinting() {
    if (printHooked) {
        return;
    }

    printHooked = true;
    // Chart.js sizes a canvas to its box on screen; paper is narrower, so redraw at the printed size.
    window.addEventListener('beforeprint', () => charts.forEach(c => c.resize()));
    window.addEventListener('afterprint', () => charts.forEach(c => c.resize()));
}

function build(spec) {
    const line = spec.kind === 'line';
    return {
        type: line ? 'line' : 'bar',
        data: {
            labels: spec.labels,
            datasets: spec.series.map((s, i) => ({
                label: s.name,
                data: s.values,
                backgroundColor: palette[i % palette.length],
                borderColor: palette[i % palette.length],
                borderWidth: line ? 3 : 0,
                borderDash: line ? dashes[i % dashes.length] : undefined,
                pointStyle: points[i % points.length],
                pointRadius: line ? 4 : undefined,
                tension: 0,
            })),
        },
        options: {
            animation: false,
            responsive: true,
            maintainAspectRatio: false,
            indexAxis: spec.horizontal ? 'y' : 'x',
            color: ink,
            font: { size: 16 },
            plugins: {
                legend: { display: spec.series.length > 1, labels: { color: ink, font: { size: 16 }, usePointStyle: line } },
                title: { display: false },
                tooltip: { titleFont: { size: 16 }, bodyFont: { size: 16 } },
            },
            scales: {
                x: { stacked: !!spec.stacked, beginAtZero: true, ticks: { color: ink, font: { size: 15 }, precision: 0 }, grid: { color: grid } },
                y: { stacked: !!spec.stacked, beginAtZero: true, ticks: { color: ink, font: { size: 15 }, precision: 0 }, grid: { color: grid } },
            },
        },
    };
}

/**
 * Draws a chart on a canvas.
 * @param {HTMLCanvasElement} canvas where it goes (its parent sets the height)
 * @param {{kind: 'bar'|'line', labels: string[], series: {name: string, values: number[]}[], stacked: boolean, horizontal: boolean}} spec
 */
export async function createChart(canvas, spec) {
    const Chart = await loadChartJs();
    hookPrinting();
    const chart = new Chart(canvas, build(spec));
    charts.add(chart);
    // Kept on the element so tests can read what was drawn.
    canvas.homeroomChart = chart;
    return new HomeroomChart(chart);
}

class HomeroomChart {
    constructor(chart) {
        this.chart = chart;
    }

    /** Draws new numbers in the same chart (of the same kind). */
    update(spec) {
        const next = build(spec);
        this.chart.data = next.data;
        this.chart.options = next.options;
        this.chart.update();
    }

    dispose() {
        charts.delete(this.chart);
        this.chart.destroy();
    }
}
