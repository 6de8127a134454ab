/**
 * `-out-qr`: a PNG QR code of the PEM text, as go-qrcode's `Encode(pem, Medium, -5)` draws it
 * (error correction M, 5 px per module, 4-module quiet zone).
 */
import QRCode from 'qrcode';

export async function qrPng(text: string): Promise<Uint8Array> {
  const buf = await QRCode.toBuffer(text, { type: 'png', errorCorrectionLevel: 'M', scale: 5, margin: 4 });
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
