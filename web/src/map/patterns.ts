/** Fill patterns drawn on a canvas (no sprite file to serve): dots, cross-hatch, diagonal hatch. */
export function patternImages(): Record<string, ImageData> {
  const size = 12;
  const make = (draw: (c: CanvasRenderingContext2D) => void) => {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = size;
    const c = canvas.getContext('2d')!;
    draw(c);
    return c.getImageData(0, 0, size, size);
  };
  return {
    'pat-dots': make((c) => {
      c.fillStyle = '#1f6f99';
      for (const [x, y] of [[3, 3], [9, 9]]) {
        c.beginPath();
        c.arc(x, y, 1.6, 0, Math.PI * 2);
        c.fill();
      }
    }),
    'pat-cross': make((c) => {
      c.strokeStyle = '#8e3f77';
      c.lineWidth = 1.4;
      c.beginPath();
      c.moveTo(0, 0); c.lineTo(size, size);
      c.moveTo(size, 0); c.lineTo(0, size);
      c.stroke();
    }),
    'pat-hatch': make((c) => {
      c.strokeStyle = '#555555';
      c.lineWidth = 1.3;
      c.beginPath();
      // lines that continue across tile edges
      c.moveTo(-3, 3); c.lineTo(3, -3);
      c.moveTo(0, size); c.lineTo(size, 0);
      c.moveTo(size - 3, size + 3); c.lineTo(size + 3, size - 3);
      c.stroke();
    }),
  };
}
