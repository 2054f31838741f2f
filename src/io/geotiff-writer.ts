/**
 * Writes single-band GeoTIFFs on regular lat/lon (EPSG:4326) or EASE-2 (EPSG:6933) grids with
 * geotiff.js: float32 samples, pixel-is-area georeferencing, nodata in GDAL's tag.
 */
import fs from "node:fs";
import { writeArrayBuffer } from "geotiff";

export interface GeoTiffRaster {
  width: number;
  height: number;
  /** Row-major, north row first. */
  data: Float32Array | Uint8Array;
  /** Upper-left corner (x = lon or metres, y = lat or metres) and pixel size. */
  originX: number;
  originY: number;
  pixelWidth: number;
  pixelHeight: number;
  epsg: 4326 | 6933;
  nodata?: number;
}

export function writeGeoTiff(file: string, raster: GeoTiffRaster): void {
  const { width, height, data } = raster;
  if (data.length !== width * height) throw new Error(`${file}: ${data.length} values for ${width} x ${height}`);
  const metadata: Record<string, unknown> = {
    width,
    height,
    ModelPixelScale: [raster.pixelWidth, raster.pixelHeight, 0],
    ModelTiepoint: [0, 0, 0, raster.originX, raster.originY, 0],
    GTRasterTypeGeoKey: 1, // RasterPixelIsArea
  };
  if (raster.epsg === 4326) {
    Object.assign(metadata, { GTModelTypeGeoKey: 2, GeographicTypeGeoKey: 4326, GeogCitationGeoKey: "WGS 84" });
  } else {
    Object.assign(metadata, { GTModelTypeGeoKey: 1, ProjectedCSTypeGeoKey: 6933, GTCitationGeoKey: "WGS 84 / NSIDC EASE-Grid 2.0 Global" });
  }
  if (raster.nodata !== undefined) metadata.GDAL_NODATA = `${raster.nodata}\0`;
  const buffer = writeArrayBuffer(data as never, metadata as never);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, new Uint8Array(buffer as ArrayBuffer));
  fs.renameSync(tmp, file);
}
