/**
 * Saves text the API answered as a file. Exports need the bearer header, which a plain link
 * cannot send: the console reads them with the API client and hands the browser a blob.
 */
export function saveText(text: string, filename: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
