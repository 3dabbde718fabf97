package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/fedele-crm/fedele/internal/demo"
)

// demoOrders writes a generated year of an optician's orders as bodies of
// POST /v1/products/batch and POST /v1/orders/batch, so a newcomer loads
// them through the API like a shop would, and sees what a year of real
// history makes of RFM, lifecycle states, CLV and cohorts.
func demoOrders(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("demo orders", flag.ContinueOnError)
	customers := fs.Int("customers", 2000, "customers to generate (acquired over the first half of the year)")
	out := fs.String("out", "demo", "folder to write products.json and orders-NNNN.json to")
	to := fs.String("to", "", "the last day of the year of orders, YYYY-MM-DD (default: today, UTC)")
	seed := fs.Uint64("seed", 7, "random seed: the same seed and dates give the same orders")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *customers < 1 || *customers > 1_000_000 {
		return errors.New("--customers must be between 1 and 1000000")
	}
	end := time.Now().UTC()
	if *to != "" {
		d, err := time.Parse(time.DateOnly, *to)
		if err != nil {
			return fmt.Errorf("--to: %w", err)
		}
		// The end of that day, but never later than now: the API refuses
		// orders placed more than a day ahead of its clock.
		if last := d.Add(24*time.Hour - time.Second); last.Before(end) {
			end = last
		}
	}
	p := demo.Defaults(*customers, end.AddDate(-1, 0, 0), end)
	p.Seed = *seed
	orders := demo.Orders(p)
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", *out, err)
	}
	if err := writeBatch(filepath.Join(*out, "products.json"), demo.Products()); err != nil {
		return err
	}
	files := 0
	for i := 0; i < len(orders); i += 100 {
		files++
		name := filepath.Join(*out, fmt.Sprintf("orders-%04d.json", files))
		if err := writeBatch(name, orders[i:min(i+100, len(orders))]); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(stdout, "%d products in %s, %d orders of %d customers from %s to %s in %d files of up to 100 (%s)\n",
		len(demo.Catalogue), filepath.Join(*out, "products.json"), len(orders), *customers,
		p.From.Format(time.DateOnly), p.To.Format(time.DateOnly), files, filepath.Join(*out, "orders-*.json"))
	return err
}

func writeBatch[T any](name string, items []T) error {
	body, err := json.Marshal(struct {
		Items []T `json:"items"`
	}{items})
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	if err := os.WriteFile(name, body, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
