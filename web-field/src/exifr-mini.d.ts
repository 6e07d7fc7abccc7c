/** exifr's smallest build (JPEG/TIFF; IFD0, EXIF, GPS), loaded only when a photo is taken. */
declare module 'exifr/dist/mini.esm.mjs' {
  const exifr: { parse(input: Blob | ArrayBuffer | Uint8Array, options?: Record<string, unknown>): Promise<Record<string, unknown> | undefined> };
  export default exifr;
}
