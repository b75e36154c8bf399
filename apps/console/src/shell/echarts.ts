import { CustomChart, HeatmapChart } from 'echarts/charts';
import { DataZoomComponent, GridComponent, MarkLineComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';

// Only the parts the console's charts use, on a canvas. This module is imported on demand
// (useEChart): ECharts is most of the console's code, and no page's first paint waits for it.
echarts.use([HeatmapChart, CustomChart, GridComponent, TooltipComponent, VisualMapComponent, DataZoomComponent, MarkLineComponent, CanvasRenderer]);

export { echarts };
