/* global process, console, setTimeout, setInterval */
// Pilotlight demo: "demo-shop", a small Node.js checkout service that loads itself.
//
// An HTTP server prices carts; a built-in client sends it one order after another and rests
// as long as each took, so the service uses about half a core. Run with --perf-basic-prof
// --interpreted-frames-native-stack --no-turbo-inlining (as `pilotlight up --demo` does) so
// every JS function below has a named frame in the flame graph. The hot functions:
//   checkoutHandleOrder -> checkoutPriceCart -> checkoutApplyDiscounts   (most samples)
//   checkoutHandleOrder -> checkoutHashOrder
//   checkoutHandleOrder -> checkoutRenderReceipt
import { createServer, request } from 'node:http';

function checkoutApplyDiscounts(price, qty, round) {
  let p = price;
  for (let r = 0; r < 400; r++) p = (p * 0.999 + qty * 0.001 + round) % 1e6;
  return p;
}

function checkoutPriceCart(cart) {
  let total = 0;
  for (let round = 0; round < 25; round++) {
    for (const item of cart) total += checkoutApplyDiscounts(item.price, item.qty, round);
  }
  return total;
}

function checkoutHashOrder(text) {
  let h = 2166136261;
  for (let k = 0; k < 60; k++) {
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  }
  return (h >>> 0).toString(16);
}

function checkoutRenderReceipt(cart, total, id) {
  const lines = cart.map((item) => `<tr><td>${item.sku}</td><td>${item.qty}</td><td>${item.price.toFixed(2)}</td></tr>`);
  return `<table id="${id}">${lines.join('')}<tr><td>total</td><td></td><td>${total.toFixed(2)}</td></tr></table>`;
}

function checkoutHandleOrder(cart) {
  const total = checkoutPriceCart(cart);
  const id = checkoutHashOrder(JSON.stringify(cart));
  return checkoutRenderReceipt(cart, total, id);
}

function randomCart() {
  const n = 20 + Math.floor(Math.random() * 20);
  return Array.from({ length: n }, (_, i) => ({ sku: `SKU-${i}-${Math.floor(Math.random() * 1000)}`, qty: 1 + (i % 5), price: 1 + Math.random() * 99 }));
}

const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    try {
      const receipt = checkoutHandleOrder(JSON.parse(body));
      res.writeHead(200, { 'content-type': 'text/html' }).end(receipt);
    } catch {
      res.writeHead(400).end('bad cart');
    }
  });
});

function sendOrder(port) {
  const started = Date.now();
  const payload = JSON.stringify(randomCart());
  const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/checkout', headers: { 'content-type': 'application/json' } }, (res) => {
    res.resume();
    res.on('end', () => setTimeout(() => sendOrder(port), Math.max(5, Date.now() - started)));
  });
  req.on('error', () => setTimeout(() => sendOrder(port), 100));
  req.end(payload);
}

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  console.log(`demo-shop listening on http://127.0.0.1:${port}/checkout`);
  sendOrder(port);
});

// Started by `pilotlight up`: end when it is gone, even if it was killed without stopping us.
const parent = Number(process.env.PILOTLIGHT_PARENT_PID);
if (parent > 0) {
  setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
  }, 500).unref();
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
