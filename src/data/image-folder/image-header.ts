/**
 * Image size and EXIF orientation read from the first bytes of a JPEG or PNG in JavaScript: the crop box needs the
 * upright size before decoding, and asking sharp for metadata costs a second trip through libvips per image.
 * Returns null for other formats or anything unusual; the caller then asks sharp.
 */

export interface ImageHeader {
  width: number;
  height: number;
  /** EXIF orientation 1..8 (1 when absent). */
  orientation: number;
}

/** Start-of-frame markers (baseline, extended, progressive, lossless; Huffman and arithmetic), which hold the size. */
const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

export function readImageHeader(bytes: Uint8Array): ImageHeader | null {
  if (bytes.length > 24 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // PNG: signature (8 bytes), then the IHDR chunk: length (4), 'IHDR' (4), width (4), height (4)
    if (view.getUint32(12) !== 0x49484452) return null;
    return { width: view.getUint32(16), height: view.getUint32(20), orientation: 1 };
  }
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let orientation = 1;
  let exifSeen = false;
  let offset = 2;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) return null;
    const marker = bytes[offset + 1]!;
    if (marker === 0xff) {
      offset++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      offset += 2; // markers without a length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return null; // end of image or start of scan before any frame header
    const length = view.getUint16(offset + 2);
    if (length < 2 || offset + 2 + length > bytes.length) return null;
    const body = offset + 4;
    if (SOF_MARKERS.has(marker)) {
      if (length < 7) return null;
      const height = view.getUint16(body + 1);
      const width = view.getUint16(body + 3);
      if (width === 0 || height === 0) return null;
      return { width, height, orientation };
    }
    if (marker === 0xe1 && !exifSeen && isExif(bytes, body, length - 2)) {
      exifSeen = true;
      const found = exifOrientation(view, body + 6, length - 8);
      if (found === null) return null;
      orientation = found;
    }
    offset += 2 + length;
  }
  return null;
}

function isExif(bytes: Uint8Array, start: number, length: number): boolean {
  return length >= 6 && bytes[start] === 0x45 && bytes[start + 1] === 0x78 && bytes[start + 2] === 0x69 && bytes[start + 3] === 0x66 && bytes[start + 4] === 0 && bytes[start + 5] === 0;
}

/** Orientation tag (0x0112) of IFD0 in the TIFF structure at `tiff`; 1 when absent; null when malformed. */
function exifOrientation(view: DataView, tiff: number, length: number): number | null {
  if (length < 8) return null;
  const order = view.getUint16(tiff);
  if (order !== 0x4949 && order !== 0x4d4d) return null;
  const little = order === 0x4949;
  if (view.getUint16(tiff + 2, little) !== 42) return null;
  const ifd = view.getUint32(tiff + 4, little);
  if (ifd + 2 > length) return null;
  const entries = view.getUint16(tiff + ifd, little);
  for (let i = 0; i < entries; i++) {
    const entry = tiff + ifd + 2 + 12 * i;
    if (entry + 12 > tiff + length) return null;
    if (view.getUint16(entry, little) === 0x0112) {
      const value = view.getUint16(entry + 8, little);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}
