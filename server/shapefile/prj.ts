/**
 * ESRI WKT (.prj) strings for the CGCS2000 coordinate systems that Chinese deliveries use, exactly as
 * ArcGIS writes them (one line, no AUTHORITY, decimals always written with `.0`).
 *
 * - EPSG:4490          GCS_China_Geodetic_Coordinate_System_2000 (geographic, degrees)
 * - EPSG:4513 – 4533   CGCS2000_3_Degree_GK_Zone_25 … _45   (zone number in front of the easting,
 *                      False_Easting = zone × 1 000 000 + 500 000, CM = zone × 3)
 * - EPSG:4534 – 4554   CGCS2000_3_Degree_GK_CM_75E … _135E  (no zone prefix, False_Easting = 500 000)
 *
 * Ji'an (吉安镇, ~105.9°E) is zone 35 / CM 105°E: EPSG:4523 or EPSG:4544.
 */

export const CGCS2000_GEOGCS_NAME = 'GCS_China_Geodetic_Coordinate_System_2000';

/** The GEOGCS[...] ArcGIS writes for CGCS2000; also the whole .prj of EPSG:4490. */
export const CGCS2000_GEOGCS_WKT =
  'GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",' +
  'SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]';

/** .prj of EPSG:4490 */
export const PRJ_4490 = CGCS2000_GEOGCS_WKT;

/** First/last 3-degree zone that has an EPSG code (4513 = zone 25 … 4533 = zone 45). */
export const GK3_MIN_ZONE = 25;
export const GK3_MAX_ZONE = 45;

/** ArcGIS writes every number with at least one decimal: 35500000 → "35500000.0". */
function esriNumber(n: number): string {
  return Number.isInteger(n) ? `${n}.0` : String(n);
}

function gkProjcs(name: string, falseEasting: number, centralMeridian: number): string {
  return (
    `PROJCS["${name}",${CGCS2000_GEOGCS_WKT},PROJECTION["Gauss_Kruger"],` +
    `PARAMETER["False_Easting",${esriNumber(falseEasting)}],PARAMETER["False_Northing",0.0],` +
    `PARAMETER["Central_Meridian",${esriNumber(centralMeridian)}],PARAMETER["Scale_Factor",1.0],` +
    `PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]`
  );
}

function checkZone(zone: number): void {
  if (!Number.isInteger(zone) || zone < GK3_MIN_ZONE || zone > GK3_MAX_ZONE) {
    throw new RangeError(`CGCS2000 3-degree GK zone must be an integer ${GK3_MIN_ZONE}–${GK3_MAX_ZONE}, got ${zone}`);
  }
}

/** ESRI WKT of CGCS2000_3_Degree_GK_Zone_NN (with the zone prefix; EPSG:4513–4533). */
export function cgcs2000GkZoneWkt(zone: number): string {
  checkZone(zone);
  return gkProjcs(`CGCS2000_3_Degree_GK_Zone_${zone}`, zone * 1_000_000 + 500_000, zone * 3);
}

/** ESRI WKT of CGCS2000_3_Degree_GK_CM_NNNE (no zone prefix; EPSG:4534–4554). */
export function cgcs2000GkCmWkt(centralMeridian: number): string {
  checkZone(centralMeridian / 3);
  return gkProjcs(`CGCS2000_3_Degree_GK_CM_${centralMeridian}E`, 500_000, centralMeridian);
}

/** EPSG code of the 3-degree GK zone: `withPrefix` → 4513–4533, else 4534–4554. */
export function cgcs2000GkEpsg(zone: number, withPrefix = true): number {
  checkZone(zone);
  return (withPrefix ? 4513 : 4534) + zone - GK3_MIN_ZONE;
}

/** True for the EPSG codes this module knows (4490, 4513–4554). */
export function isCgcs2000Epsg(epsg: number): boolean {
  return epsg === 4490 || (Number.isInteger(epsg) && epsg >= 4513 && epsg <= 4554);
}

/** ESRI WKT (.prj content) for EPSG:4490 or EPSG:4513–4554; throws for any other code. */
export function esriWktForEpsg(epsg: number): string {
  if (epsg === 4490) return PRJ_4490;
  if (Number.isInteger(epsg) && epsg >= 4513 && epsg <= 4533) return cgcs2000GkZoneWkt(epsg - 4513 + GK3_MIN_ZONE);
  if (Number.isInteger(epsg) && epsg >= 4534 && epsg <= 4554) return cgcs2000GkCmWkt((epsg - 4534 + GK3_MIN_ZONE) * 3);
  throw new RangeError(`no ESRI WKT known for EPSG:${epsg} (only 4490 and 4513–4554)`);
}

/** proj4 definition for the same codes (GRS80 ellipsoid = CGCS2000 to the millimetre). */
export function proj4ForEpsg(epsg: number): string {
  if (epsg === 4490) return '+proj=longlat +ellps=GRS80 +no_defs +type=crs';
  if (Number.isInteger(epsg) && epsg >= 4513 && epsg <= 4554) {
    const prefixed = epsg <= 4533;
    const zone = prefixed ? epsg - 4513 + GK3_MIN_ZONE : epsg - 4534 + GK3_MIN_ZONE;
    const x0 = prefixed ? zone * 1_000_000 + 500_000 : 500_000;
    return `+proj=tmerc +lat_0=0 +lon_0=${zone * 3} +k=1 +x_0=${x0} +y_0=0 +ellps=GRS80 +units=m +no_defs +type=crs`;
  }
  throw new RangeError(`no proj4 definition known for EPSG:${epsg} (only 4490 and 4513–4554)`);
}
