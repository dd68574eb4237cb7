// The part of fontkit (PDFKit's own font engine, https://github.com/foliojs/fontkit) that AllIN calls: it
// ships no types.
declare module 'fontkit' {
  export interface Font {
    unitsPerEm: number;
    hasGlyphForCodePoint(codePoint: number): boolean;
    glyphForCodePoint(codePoint: number): { advanceWidth: number };
  }
  export function create(buffer: Buffer): Font;
}
