// The Date of answers the gateway writes or completes (RFC 9110 §6.6.1), formatted once a second.
let dateSecond = 0;
let dateValue = "";

export function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(now).toUTCString();
  }
  return dateValue;
}
