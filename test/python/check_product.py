"""Opens a smapfill product's outputs with the tools a user has and reports what they see.

Usage: check_product.py PRODUCT_DIR PIXELS_JSON   (PIXELS_JSON: [[t, row, col], ...] in the window)
Prints JSON: for each output, the values at the pixels, the CRS GDAL identifies, cell-centre
latitude/longitude by GDAL's own transform, the COG validation, and any Python warning raised
while xarray and zarr-python open the files (there should be none).
"""
import json, os, subprocess, sys, warnings

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()
product, pixels = sys.argv[1], json.loads(sys.argv[2])
out = {"warnings": []}


def caught(fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        value = fn()
    out["warnings"] += [f"{x.category.__name__}: {x.message}" for x in w]
    return value


# NetCDF-4 through netCDF4 and xarray.
nc = os.path.join(product, "product.nc")
if os.path.exists(nc):
    import netCDF4, xarray as xr

    d = netCDF4.Dataset(nc)
    src = d.variables["soil_moisture_source"]
    out["netcdf"] = {
        "values": [float(d.variables["soil_moisture"][t, r, c]) for t, r, c in pixels],
        "flag_meanings": src.flag_meanings.split(),
        "flag_values": [int(v) for v in src.flag_values],
        "source_dtype": str(src.dtype),
        "conventions": d.Conventions,
        "crs": {k: (d.variables["crs"].getncattr(k) if not hasattr(d.variables["crs"].getncattr(k), "tolist") else d.variables["crs"].getncattr(k).tolist()) for k in ["grid_mapping_name", "standard_parallel", "longitude_of_central_meridian", "semi_major_axis", "inverse_flattening"]},
        "standard_name": getattr(d.variables["soil_moisture"], "standard_name", None),
        "dims": list(d.variables["soil_moisture"].dimensions),
        "chunking": d.variables["soil_moisture"].chunking(),
        "deflate": d.variables["soil_moisture"].filters().get("zlib", False),
        "x_bounds": d.variables["x"].bounds,
        "lat_shape": list(d.variables["lat"].shape),
        "attributes": {v: {k: (lambda x: x.tolist() if hasattr(x, "tolist") else x)(d.variables[v].getncattr(k)) for k in d.variables[v].ncattrs() if k != "_FillValue"} for v in d.variables if v.startswith("soil_moisture")},
        "history": d.history,
        "global_keys": sorted(d.ncattrs()),
        "json_blobs": sorted(k for k in d.ncattrs() if isinstance(d.getncattr(k), str) and d.getncattr(k).lstrip().startswith(("{", "["))),
    }
    ds = caught(lambda: xr.open_dataset(nc).load())
    out["netcdf"]["xarray_values"] = [float(ds.soil_moisture.values[t, r, c]) for t, r, c in pixels]
    out["netcdf"]["xarray_time0"] = str(ds.time.values[0])[:10]
    g = gdal.Open(f"NETCDF:{nc}:soil_moisture")
    srs = osr.SpatialReference(wkt=g.GetProjection())
    srs.AutoIdentifyEPSG()
    out["netcdf"]["gdal_epsg"] = srs.GetAuthorityCode(None)
    gt = g.GetGeoTransform()
    wgs = osr.SpatialReference()
    wgs.ImportFromEPSG(4326)
    wgs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    tr = osr.CoordinateTransformation(srs, wgs)
    out["netcdf"]["gdal_lonlat"] = [list(tr.TransformPoint(gt[0] + (c + 0.5) * gt[1], gt[3] + (r + 0.5) * gt[5])[:2]) for t, r, c in pixels]
    # GDAL's band order for NetCDF is time; its rows run north to south as ours.
    out["netcdf"]["gdal_values"] = [float(g.GetRasterBand(t + 1).ReadAsArray(c, r, 1, 1)[0, 0]) for t, r, c in pixels]
    lon, lat = out["netcdf"]["gdal_lonlat"][0]
    t0 = pixels[0][0]
    loc = subprocess.run(["gdallocationinfo", "-valonly", "-wgs84", "-b", str(t0 + 1), f"NETCDF:{nc}:soil_moisture", str(lon), str(lat)], capture_output=True, text=True)
    out["netcdf"]["gdallocationinfo"] = loc.stdout.strip()
    srsinfo = subprocess.run(["gdalsrsinfo", "-o", "epsg", f"NETCDF:{nc}:soil_moisture"], capture_output=True, text=True)
    out["netcdf"]["gdalsrsinfo"] = srsinfo.stdout.strip()

# Zarr v2 through zarr-python 2 and xarray, and GDAL's Zarr driver.
z2 = os.path.join(product, "product_v2.zarr")
if os.path.exists(z2):
    import zarr, xarray as xr

    g = caught(lambda: zarr.open_consolidated(z2, mode="r"))
    ds = caught(lambda: xr.open_zarr(z2).load())
    out["zarr2"] = {
        "lat_dims": list(ds.lat.dims),
        "coords": sorted(ds.coords),
        "values": [float(g["soil_moisture"][t, r, c]) for t, r, c in pixels],
        "xarray_values": [float(ds.soil_moisture.values[t, r, c]) for t, r, c in pixels],
        "variables": sorted(ds.data_vars),
        "time0": str(ds.time.values[0])[:10],
    }
    t0, r0, c0 = pixels[0]
    gz = gdal.Open(f'ZARR:"{z2}":/soil_moisture:{t0}')
    out["zarr2"]["gdal_value"] = float(gz.GetRasterBand(1).ReadAsArray(c0, r0, 1, 1)[0, 0])
    zsrs = osr.SpatialReference(wkt=gz.GetProjection()) if gz.GetProjection() else None
    if zsrs:
        zsrs.AutoIdentifyEPSG()
    out["zarr2"]["gdal_epsg"] = zsrs.GetAuthorityCode(None) if zsrs else None

# COGs through GDAL, validated as GDAL's COG validator does.
cog = os.path.join(product, "product_cog")
if os.path.isdir(cog):
    from osgeo_utils.samples.validate_cloud_optimized_geotiff import validate

    files = sorted(f for f in os.listdir(cog) if f.endswith(".tif"))
    out["cog"] = {"files": files, "invalid": {}, "values": [], "overviews": {}}
    for f in files:
        errors, _ = validate(os.path.join(cog, f))[:2]
        if errors:
            out["cog"]["invalid"][f] = errors
        ds = gdal.Open(os.path.join(cog, f))
        out["cog"]["overviews"][f] = ds.GetRasterBand(1).GetOverviewCount()
    for t, r, c in pixels:
        day = json.loads(sys.argv[3])[t] if len(sys.argv) > 3 else None
        month = day[:7]
        ds = gdal.Open(os.path.join(cog, f"soil_moisture_{month}.tif"))
        band = next(b for b in range(1, ds.RasterCount + 1) if ds.GetRasterBand(b).GetDescription() == day)
        out["cog"]["values"].append(float(ds.GetRasterBand(band).ReadAsArray(c, r, 1, 1)[0, 0]))
    ds = gdal.Open(os.path.join(cog, files[0]))
    srs = osr.SpatialReference(wkt=ds.GetProjection())
    srs.AutoIdentifyEPSG()
    out["cog"]["epsg"] = srs.GetAuthorityCode(None)
    out["cog"]["nodata"] = str(ds.GetRasterBand(1).GetNoDataValue())
    flags = [f for f in files if "_source" in f]
    if flags:
        flag_ds = gdal.Open(os.path.join(cog, flags[0]))  # kept: a band outlives no dataset
        band = flag_ds.GetRasterBand(1)
        table = band.GetColorTable()
        out["cog"]["flag_colors"] = [list(table.GetColorEntry(i)) for i in range(table.GetCount())] if table else None
        out["cog"]["flag_categories"] = band.GetCategoryNames()

print(json.dumps(out))
