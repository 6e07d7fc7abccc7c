/**
 * The OGC API's own definition, OpenAPI 3.0 (`GET /ogc/api`, the landing page's `service-desc`): Part 1's
 * /conf/oas30 asks for a 3.0 document describing the API's paths, and GDAL and QGIS read it to learn the
 * `limit` default and maximum (issue 17 item 6: the app-wide /api/openapi.json is 3.1 and said
 * 9007199254740991, so both fell back to pages of 10) and which query parameters filter a collection.
 * Paths are relative to the server URL `<origin>/ogc`, as the OGC paths are written in the standard; the
 * items of each collection have their own path, carrying that collection's property filters.
 */
import type { TileLayer } from '../tiles/catalog';
import { CRS84, servedCrs } from './crs';
import { QUERYABLES } from './queryables';
import { DEFAULT_LIMIT, MAX_LIMIT } from './service';

export const OAS30 = 'application/vnd.oai.openapi+json;version=3.0';
const GEOJSON = 'application/geo+json';
const JSON_T = 'application/json';

type Json = Record<string, unknown>;
const CONTENT_CRS_HEADER = { description: 'The CRS of the coordinates, in angle brackets (OGC API – Features Part 2)', schema: { type: 'string' } };
const ref = (kind: 'parameters' | 'schemas' | 'responses', name: string) => ({ $ref: `#/components/${kind}/${name}` });

/** Query parameters of an items request for a collection of this kind, besides its property filters. */
export function itemParams(kind: TileLayer['kind']): string[] {
  return ['limit', 'bbox', 'bbox-crs', 'crs', 'cursor', 'f', ...(kind === 'survey' ? ['datetime'] : [])];
}

export function ogcApiDocument(origin: string, collections: TileLayer[], workSrid: number): Json {
  const crsUris = servedCrs(workSrid).map((c) => c.uri);
  const errors = { 400: ref('responses', 'BadRequest'), 401: ref('responses', 'Unauthorized'), 404: ref('responses', 'NotFound'), 500: ref('responses', 'ServerError') };
  const json = (schema: Json, description: string) => ({ description, content: { [JSON_T]: { schema } } });
  const paths: Json = {
    '/': { get: { operationId: 'getLandingPage', tags: ['Capabilities'], summary: 'Landing page', parameters: [ref('parameters', 'f')], responses: { 200: json(ref('schemas', 'landingPage'), 'The landing page'), ...errors } } },
    '/conformance': { get: { operationId: 'getConformance', tags: ['Capabilities'], summary: 'Conformance classes', parameters: [ref('parameters', 'f')], responses: { 200: json(ref('schemas', 'confClasses'), 'The conformance classes'), ...errors } } },
    '/api': { get: { operationId: 'getApi', tags: ['Capabilities'], summary: 'This API definition (OpenAPI 3.0)', parameters: [ref('parameters', 'f')], responses: { 200: { description: 'The API definition', content: { [OAS30]: { schema: { type: 'object' } } } }, ...errors } } },
    '/collections': { get: { operationId: 'getCollections', tags: ['Capabilities'], summary: 'Feature collections', parameters: [ref('parameters', 'f')], responses: { 200: json(ref('schemas', 'collections'), 'The collections'), ...errors } } },
    '/collections/{collectionId}': { get: { operationId: 'describeCollection', tags: ['Capabilities'], summary: 'One collection', parameters: [ref('parameters', 'collectionId'), ref('parameters', 'f')], responses: { 200: json(ref('schemas', 'collection'), 'The collection'), ...errors } } },
    '/collections/{collectionId}/queryables': { get: { operationId: 'getQueryables', tags: ['Capabilities'], summary: 'Query parameters that filter the collection (JSON Schema)', parameters: [ref('parameters', 'collectionId'), ref('parameters', 'f')], responses: { 200: { description: 'The queryables', content: { 'application/schema+json': { schema: { type: 'object' } } } }, ...errors } } },
  };
  for (const c of collections) {
    const filters = Object.entries(QUERYABLES[c.kind]).map(([name, q]) => ({
      name, in: 'query', required: false, style: 'form', explode: false,
      description: `${q.title}${q.description ? `: ${q.description}` : ''}`, schema: { type: 'string' },
    }));
    paths[`/collections/${c.name}/items`] = {
      get: {
        operationId: `getFeatures_${c.name}`, tags: ['Data'], summary: `${c.title_zh} / ${c.title_en}: features`,
        parameters: [...itemParams(c.kind).map((p) => ref('parameters', p)), ...filters],
        responses: { 200: { description: 'The features, one page', headers: { 'Content-Crs': CONTENT_CRS_HEADER }, content: { [GEOJSON]: { schema: ref('schemas', 'featureCollectionGeoJSON') } } }, ...errors },
      },
    };
    paths[`/collections/${c.name}/items/{featureId}`] = {
      get: {
        operationId: `getFeature_${c.name}`, tags: ['Data'], summary: `${c.title_zh} / ${c.title_en}: one feature`,
        parameters: [ref('parameters', 'featureId'), ref('parameters', 'crs'), ref('parameters', 'f')],
        responses: { 200: { description: 'The feature', headers: { 'Content-Crs': CONTENT_CRS_HEADER }, content: { [GEOJSON]: { schema: ref('schemas', 'featureGeoJSON') } } }, ...errors },
      },
    };
  }
  const link = { type: 'object', required: ['href'], properties: { href: { type: 'string' }, rel: { type: 'string' }, type: { type: 'string' }, hreflang: { type: 'string' }, title: { type: 'string' }, length: { type: 'integer' } } };
  const errorBody = { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, message_zh: { type: 'string' } } } } };
  const errorResponse = (description: string) => ({ description, content: { [JSON_T]: { schema: ref('schemas', 'exception') } } });
  return {
    openapi: '3.0.3',
    info: {
      title: 'tuban 图斑 — OGC API – Features',
      version: '1.0.0',
      description: 'Survey change polygons, parcels and reference layers, read-only. Log in with a bearer token (POST /api/auth/login with "token": true) or HTTP Basic.',
      contact: { name: 'tuban' },
      license: { name: 'Data: as licensed by the owning authority' },
    },
    servers: [{ url: `${origin}/ogc` }],
    tags: [{ name: 'Capabilities' }, { name: 'Data' }],
    security: [{ bearer: [] }, { basic: [] }, {}],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'a token from POST /api/auth/login with "token": true' },
        basic: { type: 'http', scheme: 'basic', description: 'username and password (or username and a token)' },
      },
      parameters: {
        f: { name: 'f', in: 'query', required: false, description: 'The format: JSON / GeoJSON only', schema: { type: 'string', enum: ['json', 'geojson'] } },
        collectionId: { name: 'collectionId', in: 'path', required: true, schema: { type: 'string', enum: collections.map((c) => c.name) } },
        featureId: { name: 'featureId', in: 'path', required: true, schema: { type: 'string' } },
        limit: {
          name: 'limit', in: 'query', required: false, style: 'form', explode: false,
          description: `Features per page: default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT} (a larger value is served as ${MAX_LIMIT})`,
          schema: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
        },
        bbox: {
          name: 'bbox', in: 'query', required: false, style: 'form', explode: false,
          description: 'Features whose geometry intersects the box: four (or six, with heights) numbers in the axis order of bbox-crs (CRS84: minLon,minLat,maxLon,maxLat)',
          schema: { type: 'array', minItems: 4, maxItems: 6, items: { type: 'number' } },
        },
        'bbox-crs': { name: 'bbox-crs', in: 'query', required: false, description: 'The CRS of bbox (default CRS84)', schema: { type: 'string', format: 'uri', enum: crsUris, default: CRS84 } },
        crs: { name: 'crs', in: 'query', required: false, description: 'The CRS of the coordinates written (default CRS84); EPSG CRSs in their axis order', schema: { type: 'string', format: 'uri', enum: crsUris, default: CRS84 } },
        cursor: { name: 'cursor', in: 'query', required: false, description: 'Where the next page starts: taken from a next link, not written by hand', schema: { type: 'string', pattern: '^[0-9]{1,18}$' } },
        datetime: {
          name: 'datetime', in: 'query', required: false, style: 'form', explode: false,
          description: 'Survey polygons first imported at this instant or in this interval (RFC 3339, `..` open)',
          schema: { type: 'string' },
        },
      },
      schemas: {
        link,
        exception: errorBody,
        landingPage: { type: 'object', required: ['links'], properties: { title: { type: 'string' }, description: { type: 'string' }, links: { type: 'array', items: ref('schemas', 'link') } } },
        confClasses: { type: 'object', required: ['conformsTo'], properties: { conformsTo: { type: 'array', items: { type: 'string' } } } },
        collection: {
          type: 'object', required: ['id', 'links'],
          properties: {
            id: { type: 'string' }, title: { type: 'string' }, description: { type: 'string' },
            links: { type: 'array', items: ref('schemas', 'link') },
            extent: { type: 'object' }, itemType: { type: 'string' },
            crs: { type: 'array', items: { type: 'string' } }, storageCrs: { type: 'string' },
          },
        },
        collections: { type: 'object', required: ['links', 'collections'], properties: { links: { type: 'array', items: ref('schemas', 'link') }, collections: { type: 'array', items: ref('schemas', 'collection') } } },
        featureGeoJSON: { type: 'object', required: ['type', 'geometry', 'properties'], properties: { type: { type: 'string', enum: ['Feature'] }, id: { oneOf: [{ type: 'string' }, { type: 'integer' }] }, geometry: { type: 'object', nullable: true }, properties: { type: 'object', nullable: true }, links: { type: 'array', items: ref('schemas', 'link') } } },
        featureCollectionGeoJSON: {
          type: 'object', required: ['type', 'features'],
          properties: {
            type: { type: 'string', enum: ['FeatureCollection'] },
            features: { type: 'array', items: ref('schemas', 'featureGeoJSON') },
            links: { type: 'array', items: ref('schemas', 'link') },
            timeStamp: { type: 'string', format: 'date-time' },
            numberMatched: { type: 'integer', minimum: 0 },
            numberReturned: { type: 'integer', minimum: 0 },
          },
        },
      },
      responses: {
        BadRequest: errorResponse('A query parameter has an invalid value, or is not one this path takes'),
        Unauthorized: errorResponse('Log in first'),
        NotFound: errorResponse('No such collection or feature'),
        ServerError: errorResponse('A server error occurred'),
      },
    },
  };
}
